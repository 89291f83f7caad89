// For the dSock listener's tests: its API as a backend calls it (query parameters, the token in
// `Authorization: Bearer`), and a WebSocket client that keeps each frame's bytes and opcode.
import WebSocket from 'ws';
import { createHmac } from 'node:crypto';
import { rawRequest, requestText, VALID_HANDSHAKE, type RawResponse } from '../../helpers/raw-http.js';

export const TOKEN = 'dsock-token';
/** dSock's e2e secret: short secrets must work. */
export const JWT_SECRET = 'abc123';

export interface Answer {
  readonly status: number;
  readonly contentType: string | null;
  readonly text: string;
  /** The JSON body, or undefined when it is not JSON. */
  readonly json: Record<string, unknown> | undefined;
}

/** One API call: `query` as written (the caller encodes it). */
export async function call(base: string, method: 'GET' | 'POST', path: string, query = '', options: { token?: string | null; body?: Uint8Array | string } = {}): Promise<Answer> {
  const token = options.token === undefined ? TOKEN : options.token;
  const headers: Record<string, string> = token === null ? {} : { Authorization: `Bearer ${token}` };
  const res = await fetch(`${base}${path}${query === '' ? '' : `?${query}`}`, { method, headers, body: options.body as BodyInit | undefined });
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.status, contentType: res.headers.get('content-type'), text, json };
}

/** dSock's error body, exactly. */
export const errorBody = (code: string, message: string): string => JSON.stringify({ error: message, errorCode: code, success: false });

export interface Frame {
  readonly data: Buffer;
  readonly binary: boolean;
}

export interface DsockSocket {
  readonly ws: WebSocket;
  readonly frames: Frame[];
  /** The close code and reason the server sent. */
  readonly closed: Promise<{ code: number; reason: string }>;
  waitFor(count: number, timeoutMs?: number): Promise<Frame[]>;
  close(): Promise<unknown>;
}

/** Opens a socket on `url` (…/connect?claim=… or ?jwt=…); rejects when the upgrade is refused. */
export function dsockSocket(url: string): Promise<DsockSocket> {
  const ws = new WebSocket(url);
  const frames: Frame[] = [];
  const waiters: Array<() => void> = [];
  let done = false;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => {
    done = true;
    resolve({ code, reason: reason.toString() });
    for (const w of waiters.splice(0)) w();
  }));
  ws.on('message', (data, binary) => {
    frames.push({ data: Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer), binary });
    for (const w of waiters.splice(0)) w();
  });
  const socket: DsockSocket = {
    ws, frames, closed,
    waitFor(count, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`expected ${count} frames, got ${frames.length}`)), timeoutMs);
        const check = (): void => {
          if (frames.length >= count) {
            clearTimeout(timer);
            resolve(frames);
          } else if (done) {
            clearTimeout(timer);
            reject(new Error(`closed after ${frames.length} frames`));
          } else waiters.push(check);
        };
        check();
      });
    },
    close() {
      if (!done) ws.close();
      return closed;
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(socket));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

/** A handshake sent by hand: the refusal's status, headers and body as they are on the wire. */
export function rawConnect(port: number, query: string): Promise<RawResponse> {
  return rawRequest(port, requestText(`/connect?${query}`, VALID_HANDSHAKE));
}

/** A token signed with `secret` (dSock's JWTs: `sub` user, `sid` session), built by hand so that
 * wrongly typed claims (`"exp":"invalid"`) can be signed too. */
export function jwt(claims: Record<string, unknown>, secret = JWT_SECRET, alg: 'HS256' | 'HS384' = 'HS256'): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${part({ alg, typ: 'JWT' })}.${part(claims)}`;
  return `${signed}.${createHmac(alg === 'HS256' ? 'sha256' : 'sha384', secret).update(signed).digest('base64url')}`;
}
