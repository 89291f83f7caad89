// For the Driplet listener's tests: a config.toml with two endpoints written to a temporary file,
// client tokens signed here (HS256 with an endpoint's JWTSecret), and signed publishes.
import { createHmac } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TextSocket } from '../../helpers/seed.js';

export const WEB = { name: 'web', apiSecret: 'web-api-secret-0123456789', jwtSecret: 'web-jwt-secret-0123456789' } as const;
export const ADMIN = { name: 'admin', apiSecret: 'admin-api-secret-0123456789', jwtSecret: 'admin-jwt-secret-0123456789' } as const;
export type Endpoint = typeof WEB | typeof ADMIN;

/** Writes Driplet's config.toml (mixed-case keys, as its own default file has them); returns its path. */
export async function writeConfig(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'octoway-driplet-'));
  const path = join(dir, 'config.toml');
  await writeFile(path, [
    '[Global]', 'BindAddress = "0.0.0.0"', 'Port = 4719', '',
    '[Endpoints.Web]', 'Name = "Web app"', `APISecret = "${WEB.apiSecret}"`, `JWTSecret = "${WEB.jwtSecret}"`, '',
    '[Endpoints.admin]', 'Name = "Admin"', `APISecret = "${ADMIN.apiSecret}"`, `JWTSecret = "${ADMIN.jwtSecret}"`, '',
  ].join('\n'));
  return path;
}

const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A client token: HS256 (or `alg`) with `secret`, `claims` as given (add `exp` yourself). */
export function clientToken(secret: string, claims: Record<string, unknown>, alg: 'HS256' | 'HS384' | 'HS512' = 'HS256'): string {
  const input = `${part({ alg, typ: 'JWT' })}.${part(claims)}`;
  return `${input}.${createHmac(`sha${alg.slice(2)}`, secret).update(input).digest('base64url')}`;
}

export const nowS = (): number => Math.floor(Date.now() / 1000);
let nonces = 0;
/** A nonce no other publish of this run uses. */
export const freshNonce = (): string => `n-${process.pid}-${Date.now()}-${++nonces}`;

/** A publish body: `fields` over a fresh nonce and the current timestamp. */
export function publishBody(fields: Record<string, unknown>): string {
  return JSON.stringify({ nonce: freshNonce(), timestamp: nowS(), ...fields });
}

export function signature(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** POSTs `body` to `/api/{endpoint}/message` on `base`, signed with `secret` unless a signature is given. */
export async function post(base: string, endpoint: string, body: string, secret: string | undefined, givenSignature?: string): Promise<{ status: number; text: string; headers: Headers }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  const sig = givenSignature ?? (secret === undefined ? undefined : signature(body, secret));
  if (sig !== undefined) headers['X-Driplet-Signature'] = sig;
  const res = await fetch(`${base}/api/${endpoint}/message`, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** Sends a client frame and resolves once the gateway has read it (Driplet answers nothing; the
 * pong follows every frame sent before the ping). */
export async function sendFrame(socket: TextSocket, frame: unknown): Promise<void> {
  socket.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  await pong(socket);
}

export function pong(socket: TextSocket): Promise<void> {
  return new Promise((resolve) => {
    socket.ws.once('pong', () => resolve());
    socket.ws.ping();
  });
}
