// Who may publish and administer: the modes of WS_PUBLISH_AUTH (basic, bearer, hmac, jwt). A request
// is accepted when any listed mode accepts it. Refusals are 401 (no usable credentials, with a
// WWW-Authenticate challenge for the listed schemes) or 403 (valid, but not allowed this).
// Basic and bearer decide at once; a JWT needs its (async) verification; an HMAC signature needs
// the body, so it is checked once the body is read.
import { parseAddress } from '../delivery/address.js';
import type { HttpRequest } from 'uWebSockets.js';
import type { PublishAuthMode, PublishAuthSettings } from '../config.js';
import { OctowayError, type ErrorCode } from '../errors.js';
import { granted, grantsOf } from '../identity/jwt-grants.js';
import type { JwtVerifier } from '../identity/jwt-verifier.js';
import { basicAuth, tokenAuth } from './credentials.js';
import { checkTimestamp, hmacKeys, matchingSignature, parseSignature, SIGNATURE_HEADER, type Signature } from './hmac-signature.js';
import type { PublishRequest } from './publish.js';
import type { ReplayGuard, ReplayVerdict } from './replay-guard.js';

export type Endpoint = 'publish' | 'admin';

export interface Publisher {
  readonly mode: PublishAuthMode;
  /** Where it may publish (a publisher JWT's claims); undefined: everywhere. */
  readonly reach: Reach | undefined;
}

/** A publisher JWT's reach. Keys and topics never share a namespace: a topic grant never reaches the
 * key of the same name, nor a key claim the topic. */
export interface Reach {
  /** The `keys` claim, matched exactly. */
  readonly keys: ReadonlySet<string>;
  /** The publish grants (`topics` with a publish scope, `write`): exact names or prefix patterns
   * (`chat:*`), matched as a socket's grants are (identity/jwt-grants.ts's granted). */
  readonly topics: readonly string[];
}

export type AuthStep =
  | { readonly kind: 'accepted'; readonly publisher: Publisher }
  | { readonly kind: 'refused'; readonly error: OctowayError }
  /** A JWT being verified; settles with the publisher or the refusal, never rejects. */
  | { readonly kind: 'pending'; readonly result: Promise<Publisher | OctowayError> }
  /** An HMAC signature whose date is acceptable; call `finishSigned` with the body. */
  | { readonly kind: 'signed'; readonly signature: Signature };

export interface PublisherAuth {
  /** Decides what can be decided from the request line and headers. Call it before the uWS handler
   * returns (it reads `req`). */
  begin(req: HttpRequest, endpoint: Endpoint): AuthStep;
  /** Checks a `signed` request's body against its signature, then that it is no replay. Never throws;
   * a promise (with Redis) never rejects. */
  finishSigned(signature: Signature, body: Buffer): Publisher | OctowayError | Promise<Publisher | OctowayError>;
}

export interface PublisherAuthParts {
  /** WS_LOGIN/WS_PASSWORD; undefined with WS_INSECURE_NO_AUTH=true (basic then accepts anyone). */
  readonly credentials: { readonly login: string; readonly password: string } | undefined;
  readonly verifier: JwtVerifier | undefined;
  readonly guard: ReplayGuard | undefined;
}

const accepted = (mode: PublishAuthMode): AuthStep => ({ kind: 'accepted', publisher: { mode, reach: undefined } });
const ACCEPTED_BASIC = accepted('basic');
const ACCEPTED_BEARER = accepted('bearer');
const HMAC_PUBLISHER: Publisher = { mode: 'hmac', reach: undefined };
/** Three base64url parts: worth verifying as a JWT (an opaque bearer token is not). */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function createPublisherAuth(settings: PublishAuthSettings, parts: PublisherAuthParts): PublisherAuth {
  const listed = (mode: PublishAuthMode): boolean => settings.modes.includes(mode);
  const basic = listed('basic') ? basicAuth(parts.credentials) : undefined;
  const bearer = listed('bearer') ? tokenAuth(settings.tokens) : undefined;
  const verifier = listed('jwt') ? parts.verifier : undefined;
  const hmacSecrets = listed('hmac') ? hmacKeys(settings.hmacSecrets) : undefined;
  const takesToken = bearer !== undefined || verifier !== undefined;
  const challenges = challengesOf(settings.modes);

  const refuse = (code: ErrorCode, message?: string, invalidToken = false): AuthStep => ({ kind: 'refused', error: unauthorized(code, message, challenges(invalidToken)) });

  /** Nothing accepted the request: the most specific reason for what it carried. */
  const refusal = (endpoint: Endpoint, authorization: string, token: string | undefined, signed: boolean): AuthStep => {
    if (token !== undefined && bearer !== undefined) return refuse('PUBLISH_TOKEN_INVALID', undefined, true);
    if (token !== undefined && verifier !== undefined) return refuse('JWT_MALFORMED', undefined, true);
    if (endpoint === 'admin' && settings.modes.every((m) => m === 'hmac' || m === 'jwt')) {
      return refuse('UNAUTHORIZED', `admin endpoints take basic or bearer credentials; WS_PUBLISH_AUTH lists ${settings.modes.join(', ')}`);
    }
    if (basic !== undefined && settings.modes.length === 1) return refuse('UNAUTHORIZED');
    // A signature was sent, so "no credentials" would mislead: it is the wrong kind for this endpoint.
    if (endpoint === 'admin' && signed && authorization === '' && token === undefined) {
      return refuse('UNAUTHORIZED', `admin endpoints take basic or bearer credentials, not an HMAC signature (that signs publishes); WS_PUBLISH_AUTH lists ${settings.modes.join(', ')}`);
    }
    const what = authorization === '' ? 'no credentials' : 'credentials of a mode not listed';
    return refuse('UNAUTHORIZED', `${what}; WS_PUBLISH_AUTH accepts ${settings.modes.join(', ')}`);
  };

  const verifyJwt = async (token: string, endpoint: Endpoint): Promise<Publisher | OctowayError> => {
    const verified = await parts.verifier!.verify(token);
    if (verified instanceof OctowayError) return verified.status === 401 ? unauthorized(verified.code, verified.message, challenges(true)) : verified;
    if (endpoint === 'admin') return new OctowayError('ADMIN_FORBIDDEN');
    const grants = grantsOf(verified.claims);
    if (grants instanceof OctowayError) return unauthorized(grants.code, grants.message, challenges(true));
    if (!grants.publisher) return new OctowayError('PUBLISH_SCOPE_MISSING');
    return { mode: 'jwt', reach: { keys: new Set(grants.keysClaim), topics: grants.publish } };
  };

  const replayVerdict = (verdict: ReplayVerdict): Publisher | OctowayError => {
    if (verdict === 'first') return HMAC_PUBLISHER;
    if (verdict === 'replayed') return unauthorized('HMAC_REPLAYED', undefined, challenges(false));
    return unauthorized('HMAC_TIMESTAMP_OUT_OF_RANGE', 'the signature is older than the replay memory still covers (very many signed requests within WS_HMAC_TOLERANCE); sign it anew', challenges(false));
  };

  return {
    begin(req, endpoint) {
      const authorization = req.getHeader('authorization');
      if (basic?.(authorization) === true) return ACCEPTED_BASIC;
      let token: string | undefined;
      if (takesToken) {
        token = bearerToken(authorization) ?? (authorization === '' ? req.getQuery('token') : undefined);
        if (token === '') token = undefined;
        if (token !== undefined && bearer?.(token) === true) return ACCEPTED_BEARER;
      }
      const header = hmacSecrets === undefined ? '' : req.getHeader(SIGNATURE_HEADER);
      if (endpoint === 'publish' && header !== '') {
        const signature = parseSignature(header);
        if (signature instanceof OctowayError) return refuse(signature.code);
        const stale = checkTimestamp(signature, settings.hmacToleranceMs);
        return stale === undefined ? { kind: 'signed', signature } : refuse(stale.code, stale.message);
      }
      if (token !== undefined && verifier !== undefined && JWT_SHAPE.test(token)) return { kind: 'pending', result: verifyJwt(token, endpoint) };
      return refusal(endpoint, authorization, token, header !== '');
    },

    finishSigned(signature, body) {
      const match = matchingSignature(signature, hmacSecrets ?? [], body);
      if (match === undefined) return unauthorized('HMAC_SIGNATURE_INVALID', undefined, challenges(false));
      // Checked again now that the body is in: a client that sends a replayed body slowly must not
      // outlast the replay memory, which forgets a signature once its timestamp is out of tolerance.
      const now = Date.now();
      const stale = checkTimestamp(signature, settings.hmacToleranceMs, now);
      if (stale !== undefined) return unauthorized(stale.code, stale.message, challenges(false));
      const verdict = parts.guard!.claim(match, signature.t, now);
      if (!(verdict instanceof Promise)) return replayVerdict(verdict);
      return verdict.then(replayVerdict, (err: unknown) => (err instanceof OctowayError ? err : new OctowayError('INTERNAL_ERROR', undefined, { cause: err })));
    },
  };
}

/** The first key or topic of `request` a publisher may not reach, as the 403 to answer; undefined
 * when it may reach them all. Checked before anything is published, so a batch is all or nothing. */
export function checkReach(publisher: Publisher, request: PublishRequest): OctowayError | undefined {
  const { reach } = publisher;
  if (reach === undefined) return undefined;
  for (let i = 0; i < request.messages.length; i++) {
    const message = request.messages[i]!;
    const where = request.batch ? `messages[${i}]: ` : '';
    // Keys by name; users and sessions by their user's name, and a connection by its id, as keys.
    const keyNames = message.keys.map((k) => (k.charCodeAt(0) === 0 ? parseAddress(k).name : k));
    const names = message.connection === undefined ? keyNames : [...keyNames, message.connection.id];
    for (const key of names) {
      if (reach.keys.has(key)) continue;
      return new OctowayError('PUBLISH_KEY_FORBIDDEN', `${where}the publisher JWT may not publish to the key ${JSON.stringify(key.slice(0, 200))} (its keys claim lists where it may)`);
    }
    for (const address of message.topics ?? []) {
      const topic = parseAddress(address).name;
      if (granted(reach.topics, topic)) continue;
      return new OctowayError('PUBLISH_TOPIC_FORBIDDEN', `${where}the publisher JWT may not publish to the topic ${JSON.stringify(topic.slice(0, 200))} (its topics, with a publish scope, and write claims list where it may)`);
    }
  }
  return undefined;
}

/** `Authorization: Bearer <token>` (scheme case-insensitive), or undefined. */
function bearerToken(authorization: string): string | undefined {
  return authorization.length > 7 && authorization.slice(0, 7).toLowerCase() === 'bearer ' ? authorization.slice(7).trim() : undefined;
}

function unauthorized(code: ErrorCode, message: string | undefined, challenge: string): OctowayError {
  return new OctowayError(code, message, { challenge });
}

/** WWW-Authenticate for a 401: one challenge per listed scheme (RFC 9110 §11.6.1), the Bearer one
 * saying `invalid_token` when a token was presented (RFC 6750 §3). HMAC has no registered scheme;
 * its challenge names the header to sign with. */
function challengesOf(modes: readonly PublishAuthMode[]): (invalidToken: boolean) => string {
  const basic = modes.includes('basic') ? ['Basic realm="octoway", charset="UTF-8"'] : [];
  const hmac = modes.includes('hmac') ? [`Octoway-HMAC realm="octoway", header="X-Octoway-Signature"`] : [];
  const takesBearer = modes.includes('bearer') || modes.includes('jwt');
  const plain = [...basic, ...(takesBearer ? ['Bearer realm="octoway"'] : []), ...hmac].join(', ');
  const invalid = [...basic, ...(takesBearer ? ['Bearer realm="octoway", error="invalid_token"'] : []), ...hmac].join(', ');
  return (invalidToken) => (invalidToken ? invalid : plain);
}
