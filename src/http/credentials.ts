// Basic-auth check for the publish and admin API, in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';

export type CredentialCheck = (authorizationHeader: string) => boolean;

/** Returns a checker for `Authorization: Basic …`. Both sides are hashed first so the compare is
 * constant-time even when lengths differ (timingSafeEqual needs equal lengths). With no
 * credentials configured (WS_INSECURE_NO_AUTH=true) every request passes. */
export function basicAuth(credentials: { login: string; password: string } | undefined): CredentialCheck {
  if (credentials === undefined) return () => true;
  const expected = digest(Buffer.from(`${credentials.login}:${credentials.password}`, 'utf8'));
  return (header) => {
    const match = /^basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
    const given = digest(match === null ? Buffer.alloc(0) : Buffer.from(match[1] as string, 'base64'));
    return timingSafeEqual(given, expected) && match !== null;
  };
}

function digest(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}
