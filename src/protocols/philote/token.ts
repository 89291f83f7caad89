// Philote's access keys (its hive.go and access_key.go): the token comes from the Authorization
// header with a "Bearer" prefix removed if present (no space needed, case matters) and spaces
// trimmed, else from the `auth` query parameter; it is an HMAC JWT with SECRET (jwt-go v3.0.0),
// claims `read` and `write` (channel lists) and `api` (bool), standard claims checked when present.
// Philote answers a bad key with HTTP 200 and jwt-go's error text, without upgrading; the origin
// check (CHECK_ORIGIN) is gorilla/websocket's same-origin check.
import { goQueryValue } from '../go-query.js';
import { parseJwtGo } from '../jwt-go.js';

export interface PhiloteAccess {
  readonly ok: true;
  readonly read: readonly string[];
  readonly write: readonly string[];
  /** May `GET /api/info` (and gets 420 for any other /api path). */
  readonly api: boolean;
}

export interface PhiloteRefusal {
  readonly ok: false;
  /** jwt-go's error text, which Philote sends as a 200's body. */
  readonly text: string;
}

/** Go's strings.TrimSpace for the characters a header can hold (ASCII space, \t\n\v\f\r, U+0085, U+00A0). */
const GO_TRIM = /^[\t\n\v\f\r \u0085\u00a0]+|[\t\n\v\f\r \u0085\u00a0]+$/g;

/** The token Philote reads: the header's (after "Bearer"), or the first `auth` query value. */
export function philoteToken(authorization: string | undefined, query: string): string {
  const header = authorization ?? '';
  const fromHeader = (header.startsWith('Bearer') ? header.slice(6) : header).replace(GO_TRIM, '');
  return fromHeader !== '' ? fromHeader : goQueryValue(query, 'auth') ?? '';
}

/** Verifies `token` with `secret` as Philote's NewAccessKey does. */
export function verifyPhiloteToken(token: string, secret: string, now = Date.now()): PhiloteAccess | PhiloteRefusal {
  const result = parseJwtGo(token, secret, { read: 'string[]', write: 'string[]', api: 'bool' }, now);
  if (!result.ok) return { ok: false, text: result.error };
  return { ok: true, read: result.claims.read as string[], write: result.claims.write as string[], api: result.claims.api as boolean };
}

export function canWrite(access: PhiloteAccess, channel: string): boolean {
  return access.write.includes(channel);
}

export function canRead(access: PhiloteAccess, channel: string): boolean {
  return access.read.includes(channel);
}

/** gorilla's answer to a refused origin, followed (as Philote writes it) by the error's text. */
export const ORIGIN_REFUSED = Object.freeze({ status: 403, body: 'Forbidden\nwebsocket: request origin not allowed by Upgrader.CheckOrigin' });

/** gorilla/websocket's checkSameOrigin: no Origin passes; else the Origin URL's host (with its
 * port, as written) must equal the Host header, ASCII case-insensitively. */
export function originAllowed(origin: string | undefined, host: string): boolean {
  if (origin === undefined) return true;
  const match = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(origin);
  // Go's url.Parse of an Origin without "//" (such as "null") gives an empty host.
  let originHost = match === null ? '' : (match[1] as string);
  const at = originHost.lastIndexOf('@');
  if (at >= 0) originHost = originHost.slice(at + 1);
  return originHost.toLowerCase() === host.toLowerCase();
}
