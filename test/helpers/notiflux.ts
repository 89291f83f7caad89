// notiflux's published test key pair (test/fixtures/notiflux, from its repository's scripts/): the
// listener's setting, and ES256 tokens signed here with its private key.
import { readFile } from 'node:fs/promises';
import { createPrivateKey, sign } from 'node:crypto';
import type { TextSocket } from './seed.js';

const fixtures = new URL('../../../test/fixtures/notiflux/', import.meta.url);
const publicPem = await readFile(new URL('public_key.pem', fixtures), 'utf8');
const privatePem = await readFile(new URL('private_key.pem', fixtures), 'utf8');
const privateKey = createPrivateKey(privatePem.slice(privatePem.indexOf('-----BEGIN EC PRIVATE KEY-----')));

/** WS_NOTIFLUX_JWT_PUBLIC_KEY_B64 for the fixture key. */
export const NOTIFLUX_PUBLIC_KEY_B64 = Buffer.from(publicPem).toString('base64');

/** A notiflux token: `sub`, `exp` an hour ahead unless given, `topics`, `scope`. */
export function notifluxToken(scope: string, topics: string[], extra: Record<string, unknown> = {}): string {
  const part = (v: string): string => Buffer.from(v).toString('base64url');
  const claims = { sub: 'tester', exp: Math.floor(Date.now() / 1000) + 3600, topics, scope, ...extra };
  const input = `${part(JSON.stringify({ alg: 'ES256', typ: 'JWT' }))}.${part(JSON.stringify(claims))}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

/** Resolves once the gateway has read every frame sent on `socket` before: pongs follow them. */
export function pong(socket: TextSocket): Promise<void> {
  return new Promise((resolve) => {
    socket.ws.once('pong', () => resolve());
    socket.ws.ping();
  });
}
