// WS_AUTH_MODE: which authenticator decides an upgrade, from what the request carries. A ticket
// parameter means ticket; a JWT in one of its places means jwt; anything else is forward auth's.
// A presented ticket or JWT is decided by its own mode only: when it fails, the upgrade is refused,
// never handed to a weaker mode.
import { V2_SUBPROTOCOL } from '../delivery/framer.js';
import type { AuthMode } from '../config.js';
import { OctowayError } from '../errors.js';
import type { Authenticator, UpgradeRequest } from './authenticator.js';
import { selectAuthenticator } from './select.js';
import { ticketOf } from './ticket.js';

export interface ModeOptions {
  /** WS_AUTH_MODE, at least one. */
  readonly modes: readonly AuthMode[];
  /** Forward auth (or the dummy authorizer); required when `modes` lists forward. */
  readonly forward?: Authenticator | undefined;
  /** The JWT authenticator (local verification); required when `modes` lists jwt. */
  readonly jwt?: Authenticator | undefined;
  /** The ticket authenticator; required when `modes` lists ticket. */
  readonly ticket?: Authenticator | undefined;
  /** WS_JWT_COOKIE: a cookie of this name carries a JWT. */
  readonly jwtCookie?: string | undefined;
}

/** The subprotocol prefix a browser puts its JWT in (`Sec-WebSocket-Protocol: octoway.token.<jwt>`). */
export const TOKEN_SUBPROTOCOL = 'octoway.token.';

/**
 * The one authenticator for every upgrade. With forward alone (the default) it is forward auth
 * itself: nothing is inspected, and Goctopus clients (whose backend may read `?token=` or a bearer
 * header) see no difference. Otherwise each upgrade goes to the mode its credential names:
 * - a credential of a mode that is listed goes to that mode, and only to it;
 * - a credential of a mode that is not listed goes to forward auth when forward is listed (it may
 *   be the backend's own: an opaque `?token=`), else is refused with AUTH_MODE_NOT_ENABLED;
 * - no credential goes to forward auth, else is refused with AUTH_CREDENTIALS_MISSING.
 * Throws CONFIG_INVALID when a listed mode has no authenticator, so the start fails clearly.
 */
export function createModeAuthenticator(options: ModeOptions): Authenticator {
  const { modes } = options;
  const listed = (mode: AuthMode): Authenticator | undefined => {
    if (!modes.includes(mode)) return undefined;
    const authenticator = options[mode];
    if (authenticator === undefined) {
      throw new OctowayError('CONFIG_INVALID', `WS_AUTH_MODE lists ${mode}, but this gateway has no ${mode} authenticator`);
    }
    return authenticator;
  };
  const forward = listed('forward');
  const jwt = listed('jwt');
  const ticket = listed('ticket');
  if (forward !== undefined && jwt === undefined && ticket === undefined) return forward;

  const notEnabled = (mode: AuthMode): OctowayError => new OctowayError('AUTH_MODE_NOT_ENABLED', `the upgrade presents a ${mode === 'jwt' ? 'JWT' : 'ticket'}, but WS_AUTH_MODE does not list ${mode}`);
  return selectAuthenticator([forward, jwt, ticket].filter((a): a is Authenticator => a !== undefined), (request) => {
    const mode = presentedMode(request, options.jwtCookie);
    if (mode === 'ticket' && ticket !== undefined) return ticket;
    if (mode === 'jwt' && jwt !== undefined) return jwt;
    if (forward !== undefined) return forward;
    return mode === undefined ? new OctowayError('AUTH_CREDENTIALS_MISSING') : notEnabled(mode);
  });
}

/** Which credential the upgrade presents: a ticket parameter (even an empty or ambiguous one: the
 * ticket mode refuses it), else a JWT in any of its places, else none. */
export function presentedMode(request: UpgradeRequest, jwtCookie?: string): 'ticket' | 'jwt' | undefined {
  if (ticketOf(request.query) !== undefined) return 'ticket';
  return carriesJwt(request, jwtCookie) ? 'jwt' : undefined;
}

/** A compact JWS: three base64url parts (the signature may be empty only for `alg: none`, which the
 * jwt mode then refuses: it is still a JWT presented). */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * The JWT the upgrade carries, in the order its places are looked at: the `octoway.token.`
 * subprotocol or a `jwt` query parameter (named for it) whatever their value; a cookie named
 * WS_JWT_COOKIE; an `Authorization: Bearer` header or a `token` or `auth` query parameter whose
 * value has a JWT's shape (an opaque token there is forward auth's backend's business). The value
 * may be empty or malformed where the place alone says it is a JWT: the jwt mode then refuses it.
 * One function for the selector and the jwt mode, so both always agree on what was presented.
 */
export function jwtOf(request: UpgradeRequest, jwtCookie?: string): string | undefined {
  const { headers, query } = request;
  const protocols = headers['sec-websocket-protocol'];
  if (protocols !== undefined && protocols.includes(TOKEN_SUBPROTOCOL)) {
    for (const offered of protocols.split(',')) {
      const p = offered.trim();
      if (p.startsWith(TOKEN_SUBPROTOCOL)) return p.slice(TOKEN_SUBPROTOCOL.length);
    }
  }
  let params: URLSearchParams | undefined;
  if (query !== '' && query.includes('jwt')) {
    params = new URLSearchParams(query);
    const jwt = params.get('jwt');
    if (jwt !== null) return jwt;
  }
  if (jwtCookie !== undefined && jwtCookie !== '' && headers['cookie'] !== undefined) {
    for (const pair of headers['cookie'].split(';')) {
      const at = pair.indexOf('=');
      if (at > 0 && pair.slice(0, at).trim() === jwtCookie) return pair.slice(at + 1).trim();
    }
  }
  const authorization = headers['authorization'];
  if (authorization !== undefined && /^bearer\s/i.test(authorization)) {
    const token = authorization.slice(7).trim();
    if (JWT_SHAPE.test(token)) return token;
  }
  if (query !== '' && (query.includes('token') || query.includes('auth'))) {
    params ??= new URLSearchParams(query);
    for (const name of ['token', 'auth']) {
      for (const value of params.getAll(name)) if (JWT_SHAPE.test(value)) return value;
    }
  }
  return undefined;
}

/** Whether the upgrade carries a JWT in any of its places (see jwtOf). */
export function carriesJwt(request: UpgradeRequest, jwtCookie?: string): boolean {
  return jwtOf(request, jwtCookie) !== undefined;
}

/**
 * The subprotocol the 101 selects from the client's `Sec-WebSocket-Protocol`. Without the token
 * subprotocol the header is passed on as it always was. With it, the token must never be echoed
 * (it would land in the response and in any log of it): the first other protocol the client
 * offered is selected, or none when it offered only the token. Browsers fail a socket whose 101
 * names a protocol they did not offer, so the selection is always one of theirs. `octoway.v2`,
 * when offered, is selected before anything else (delivery/framer.ts).
 */
export function selectedProtocol(offered: string): string {
  // Octoway's native protocol wins whenever it is offered: the socket then gets v2 frames.
  if (offered.includes(V2_SUBPROTOCOL) && offered.split(',').some((p) => p.trim() === V2_SUBPROTOCOL)) return V2_SUBPROTOCOL;
  if (!offered.includes(TOKEN_SUBPROTOCOL)) return offered;
  for (const item of offered.split(',')) {
    const p = item.trim();
    if (p !== '' && !p.startsWith(TOKEN_SUBPROTOCOL)) return p;
  }
  return '';
}
