// dSock v0.2.0's API answers and parameter checks (api/ and common/ at 48a4e8a): pure functions
// from a request's query to either the parsed request or the exact error answer, in dSock's order.
// Every answer is gin's JSON: map keys sorted, HTML characters escaped (go-json.ts),
// `application/json; charset=utf-8`. What needs the store (an unknown claim, a used claim id, Redis
// failures) is the adapter's, with the codes and statuses listed here.
import { randomInt, timingSafeEqual } from 'node:crypto';
import { goQueryValue } from '../go-query.js';
import { goObject, type JsonValue } from '../go-json.js';
import { parseJwtGo } from '../jwt-go.js';

/** common/errors.go: every code and its message. */
export const DSOCK_ERRORS = Object.freeze({
  USER_ID_REQUIRED: 'User ID is required',
  INVALID_EXPIRATION: 'Error parsing expiration (must be a integer)',
  NEGATIVE_EXPIRATION: 'Can not use 0 or negative expiration',
  INVALID_DURATION: 'Could not parse duration (must be a integer)',
  NEGATIVE_DURATION: 'Can not use 0 or negative duration',
  ERROR_GETTING_CONNECTION: 'Error getting connection',
  ERROR_GETTING_USER: 'Error getting user',
  MISSING_CONNECTION_OR_USER: 'Connection ID or user ID is missing',
  INVALID_AUTHORIZATION: 'Invalid authorization',
  MISSING_AUTHENTICATION: 'Did not provide an authentication method',
  INVALID_JWT: 'Could not validate JWT',
  CLAIM_ID_ALREADY_USED: 'Claim ID is already used',
  ERROR_CHECKING_CLAIM: 'Error checking if claim already exists',
  ERROR_GETTING_CLAIM: 'Error getting claim',
  MISSING_CLAIM: 'Could not find claim',
  EXPIRED_CLAIM: 'Claim has expired',
  ERROR_READING_MESSAGE: 'Error reading message',
  ERROR_MARSHALLING_MESSAGE: 'Error marshalling message',
  INVALID_MESSAGE_TYPE: 'Invalid message type, must be text or binary',
  // Octoway's own, for bounds dSock does not have (docs/migrating.md): a /send body past
  // WS_MAX_BODY (413), and a claim past WS_TICKET_MAX unused claims in memory (503).
  MESSAGE_TOO_LARGE: 'Message is too large',
  TOO_MANY_CLAIMS: 'Too many unused claims',
});

export type DsockErrorCode = keyof typeof DSOCK_ERRORS;

/** A JSON answer: status and body. */
export interface DsockAnswer {
  readonly status: number;
  readonly body: string;
}

/** The error answer: 400 for bad input (dSock's codes above), 500 for a store failure
 * (ERROR_GETTING_*, ERROR_CHECKING_CLAIM, ERROR_READING_MESSAGE, ERROR_MARSHALLING_MESSAGE). */
export function dsockError(code: DsockErrorCode, status = 400): DsockAnswer {
  return { status, body: goObject({ success: false, errorCode: code, error: DSOCK_ERRORS[code] }) };
}

export const SUCCESS: DsockAnswer = Object.freeze({ status: 200, body: '{"success":true}' });

/** TokenMiddleware, on every API route (and unknown paths, which it answers before their 404):
 * the `token` query value equals the token, or the Authorization header's text after its first 7
 * characters does ("Bearer " is assumed, not checked). Compared in constant time. */
export function authorized(query: string, authorization: string | undefined, token: string): boolean {
  if (equal(goQueryValue(query, 'token') ?? '', token)) return true;
  return authorization !== undefined && authorization.length > 7 && equal(authorization.slice(7), token);
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Query values as gin's c.Query reads them; "" is absent (dSock tests `!= ""`). */
function param(query: string, name: string): string {
  return goQueryValue(query, name) ?? '';
}

/** Go's strconv.Atoi (64-bit): optional sign, decimal digits, int64's range. */
function atoi(text: string): number | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const big = BigInt(text);
  return big > 9223372036854775807n || big < -9223372036854775808n ? undefined : Number(big);
}

export interface ClaimRequest {
  readonly ok: true;
  readonly user: string;
  /** undefined when not given (or empty). */
  readonly session: string | undefined;
  /** Unix seconds: the claim is refused from this second on (dSock keeps whole seconds). */
  readonly expiration: number;
  /** The id asked for; undefined: generate one (generateClaimId). Taken already: CLAIM_ID_ALREADY_USED. */
  readonly id: string | undefined;
}

/** The default lifetime of a claim. */
export const DEFAULT_CLAIM_SECONDS = 60;

/** `POST /claim`'s checks in dSock's order: user; expiration (not an integer, < 1, in the past);
 * else duration (not an integer, < 1); else 60 s. `expiration` wins over `duration`. */
export function parseClaim(query: string, now = Date.now()): ClaimRequest | DsockAnswer {
  const user = param(query, 'user');
  if (user === '') return dsockError('USER_ID_REQUIRED');
  const session = param(query, 'session') || undefined;
  const expirationText = param(query, 'expiration');
  const durationText = param(query, 'duration');
  let expiration: number;
  if (expirationText !== '') {
    const seconds = atoi(expirationText);
    if (seconds === undefined) return dsockError('INVALID_EXPIRATION');
    if (seconds < 1) return dsockError('NEGATIVE_EXPIRATION');
    if (seconds * 1000 < now) return dsockError('INVALID_EXPIRATION');
    expiration = seconds;
  } else if (durationText !== '') {
    const seconds = atoi(durationText);
    if (seconds === undefined) return dsockError('INVALID_DURATION');
    if (seconds < 1) return dsockError('NEGATIVE_DURATION');
    expiration = Math.floor(now / 1000) + seconds;
  } else {
    expiration = Math.floor(now / 1000) + DEFAULT_CLAIM_SECONDS;
  }
  return { ok: true, user, session, expiration, id: param(query, 'id') || undefined };
}

const ID_CHARSET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A claim id as dSock makes them: 32 letters and digits (here from a cryptographic source). */
export function generateClaimId(): string {
  let id = '';
  for (let i = 0; i < 32; i++) id += ID_CHARSET[randomInt(ID_CHARSET.length)];
  return id;
}

/** Who a request targets: a connection id wins over a user (and its optional session). */
export type DsockTarget =
  | { readonly kind: 'connection'; readonly id: string }
  | { readonly kind: 'user'; readonly user: string; readonly session: string | undefined };

function target(query: string): DsockTarget | undefined {
  const id = param(query, 'id');
  if (id !== '') return { kind: 'connection', id };
  const user = param(query, 'user');
  return user === '' ? undefined : { kind: 'user', user, session: param(query, 'session') || undefined };
}

/** Whose unused claims a request names: by user and session, by user, or none (dSock's
 * resolveClaims, which ignores `id`; a session without a user names the user "" ). */
export type ClaimsOf = { readonly user: string; readonly session: string | undefined } | undefined;

function claimsOf(query: string): ClaimsOf {
  const user = param(query, 'user');
  const session = param(query, 'session');
  if (session !== '') return { user, session };
  return user === '' ? undefined : { user, session: undefined };
}

export interface SendRequest {
  readonly ok: true;
  readonly target: DsockTarget;
  /** type=binary or 2: a binary frame; text or 1: text. The body is sent as is. */
  readonly binary: boolean;
}

/** `POST /send`: MISSING_CONNECTION_OR_USER first, then `type`, which is required. */
export function parseSend(query: string): SendRequest | DsockAnswer {
  const to = target(query);
  if (to === undefined) return dsockError('MISSING_CONNECTION_OR_USER');
  const type = param(query, 'type');
  if (type === 'text' || type === '1') return { ok: true, target: to, binary: false };
  if (type === 'binary' || type === '2') return { ok: true, target: to, binary: true };
  return dsockError('INVALID_MESSAGE_TYPE');
}

export interface DisconnectRequest {
  readonly ok: true;
  readonly target: DsockTarget;
  /** Unused claims to delete (undefined with keepClaims=true, or when the query names no user). */
  readonly dropClaimsOf: ClaimsOf;
}

/** `POST /disconnect`: closes the target's sockets with 1000; `keepClaims=true` (exactly) keeps
 * the unused claims of the user/session named, which are otherwise deleted. */
export function parseDisconnect(query: string): DisconnectRequest | DsockAnswer {
  const to = target(query);
  if (to === undefined) return dsockError('MISSING_CONNECTION_OR_USER');
  return { ok: true, target: to, dropClaimsOf: param(query, 'keepClaims') === 'true' ? undefined : claimsOf(query) };
}

export interface InfoRequest {
  readonly ok: true;
  readonly target: DsockTarget;
  /** The claims listed: by the query's user/session even when `id` targets a connection. */
  readonly claimsOf: ClaimsOf;
}

/** `GET /info`: the same targets; MISSING_CONNECTION_OR_USER without `id` or `user`. */
export function parseInfo(query: string): InfoRequest | DsockAnswer {
  const to = target(query);
  if (to === undefined) return dsockError('MISSING_CONNECTION_OR_USER');
  return { ok: true, target: to, claimsOf: claimsOf(query) };
}

export interface DsockClaim {
  readonly id: string;
  /** Unix seconds. */
  readonly expiration: number;
  readonly user: string;
  readonly session: string | undefined;
}

export interface DsockConnection {
  readonly id: string;
  /** The node holding it (dSock's worker id). */
  readonly worker: string;
  /** Unix seconds of the last ping (or the connection's start). */
  readonly lastPing: number;
  readonly user: string;
  readonly session: string | undefined;
}

function claimJson(claim: DsockClaim): { [key: string]: JsonValue } {
  return { id: claim.id, expiration: claim.expiration, user: claim.user, ...(claim.session ? { session: claim.session } : {}) };
}

/** `POST /claim`'s 200. */
export function claimAnswer(claim: DsockClaim): DsockAnswer {
  return { status: 200, body: goObject({ success: true, claim: claimJson(claim) }) };
}

/** `GET /info`'s 200. Expired claims must already be left out. */
export function infoAnswer(connections: readonly DsockConnection[], claims: readonly DsockClaim[]): DsockAnswer {
  const conns = connections.map((c) => ({ id: c.id, worker: c.worker, lastPing: c.lastPing, user: c.user, ...(c.session ? { session: c.session } : {}) }));
  return { status: 200, body: goObject({ success: true, connections: conns, claims: claims.map(claimJson) }) };
}

/** How `GET /connect` authenticates: `claim` wins; `jwt` only when a JWT secret is configured. */
export type ConnectAuth = { readonly kind: 'claim'; readonly id: string } | { readonly kind: 'jwt'; readonly token: string };

export function parseConnect(query: string, jwtEnabled: boolean): ConnectAuth | DsockAnswer {
  const claim = param(query, 'claim');
  if (claim !== '') return { kind: 'claim', id: claim };
  const token = param(query, 'jwt');
  if (token !== '' && jwtEnabled) return { kind: 'jwt', token };
  return dsockError('MISSING_AUTHENTICATION');
}

/** A `?jwt=` token (worker/authentication.go): jwt-go v3.2.0 with the secret; `sub` is the user,
 * `sid` the session; INVALID_JWT for any refusal (a bad signature, a wrongly typed claim such as
 * "exp":"invalid", an expired token). */
export function verifyConnectJwt(token: string, secret: string, now = Date.now()): { readonly user: string; readonly session: string | undefined } | DsockAnswer {
  const result = parseJwtGo(token, secret, { sid: 'string' }, now);
  if (!result.ok) return dsockError('INVALID_JWT');
  return { user: result.claims.sub as string, session: (result.claims.sid as string) || undefined };
}
