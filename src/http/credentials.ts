// Basic-auth check for the publish and admin API, in constant time.
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
