// Credential checks for the publish and admin API, in constant time: Basic (WS_LOGIN/WS_PASSWORD)
// and bearer tokens (WS_PUBLISH_TOKENS).
import { timingSafeEqual } from 'node:crypto';

export type CredentialCheck = (authorizationHeader: string) => boolean;

/** Returns a checker for `Authorization: Basic …`. The header's credentials are compared with the
 * expected encoding by timingSafeEqual, so the time taken says nothing about how much matched; it
 * reveals only whether the length is right, which the Basic encoding of the login already implies.
 * No decoding or hashing per request: this runs on every publish. With no credentials configured
 * (WS_INSECURE_NO_AUTH=true) every request passes. */
export function basicAuth(credentials: { login: string; password: string } | undefined): CredentialCheck {
  if (credentials === undefined) return () => true;
  const expected = Buffer.from(Buffer.from(`${credentials.login}:${credentials.password}`, 'utf8').toString('base64'), 'latin1');
  const prefix = 'basic ';
  return (header) => {
    if (header.length !== prefix.length + expected.length || header.slice(0, prefix.length).toLowerCase() !== prefix) return false;
    return timingSafeEqual(Buffer.from(header.slice(prefix.length), 'latin1'), expected);
  };
}

/** Returns a checker for a bearer token against `tokens`, compared with timingSafeEqual: the time
 * taken says nothing of how much of a token matched, only (as for Basic) whether its length is that
 * of a configured one. Every configured token is compared, so it does not say which one matched.
 * No hashing per request: this runs on every publish. Several tokens are how a rotation works: the
 * old and the new are both accepted until every publisher has the new one. */
export function tokenAuth(tokens: readonly string[]): (token: string) => boolean {
  const expected = tokens.map((t) => Buffer.from(t, 'utf8'));
  return (token) => {
    const given = Buffer.from(token, 'utf8');
    let match = false;
    for (const e of expected) if (e.length === given.length && timingSafeEqual(e, given)) match = true;
    return match;
  };
}
