// For the seed listeners' tests: a listener's port from the gateway's log, and a WebSocket client
// that keeps frames as the text they arrived as (the seeds' frames are not Octoway's {id, payload}).
import WebSocket from 'ws';
import type { GatewayProcess } from './gateway.js';

/** The port a seed listener (`philote`, `notiflux`, ...) of `gw` listens on. */
export async function listenerPort(gw: GatewayProcess, name: string): Promise<number> {
  const line = await gw.waitForLog((l) => l.msg === 'listener listening' && l.listener === name);
  return line.port as number;
}

export interface TextSocket {
  readonly ws: WebSocket;
  /** Every frame so far, as text (binary frames as their UTF-8 text). */
  readonly texts: string[];
  readonly closed: Promise<number>;
  /** Resolves once `count` frames in all have arrived; rejects on close or after the timeout. */
  waitFor(count: number, timeoutMs?: number): Promise<string[]>;
  close(): Promise<number>;
}

/** Opens a socket; rejects with {status, body} when the upgrade is refused. */
export function textSocket(url: string, headers: Record<string, string> = {}): Promise<TextSocket> {
  const ws = new WebSocket(url, { headers });
  const texts: string[] = [];
  const waiters: Array<() => void> = [];
  let code: number | undefined;
  const closed = new Promise<number>((resolve) => ws.on('close', (c) => { code = c; resolve(c); }));
  ws.on('message', (data) => {
    texts.push(data.toString());
    for (const w of waiters.splice(0)) w();
  });
  const socket: TextSocket = {
    ws, texts, closed,
    waitFor(count, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`expected ${count} frames, got ${JSON.stringify(texts)}`)), timeoutMs);
        const check = (): void => {
          if (texts.length >= count) {
            clearTimeout(timer);
            resolve(texts);
          } else waiters.push(check);
        };
        void closed.then((c) => { if (texts.length < count) { clearTimeout(timer); reject(new Error(`closed (${c}) after ${JSON.stringify(texts)}`)); } });
        check();
      });
    },
    close() {
      if (code === undefined) ws.close();
      return closed;
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(socket));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode, body })));
    });
    ws.once('error', reject);
  });
}

/** The refusal of an upgrade that must be refused: its status and body. */
export async function refused(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  try {
    const socket = await textSocket(url, headers);
    await socket.close();
  } catch (err) {
    const e = err as { status?: number; body?: string };
    if (e.status !== undefined) return { status: e.status, body: e.body ?? '' };
    throw err;
  }
  throw new Error(`upgrade to ${url} was accepted; a refusal was expected`);
}
