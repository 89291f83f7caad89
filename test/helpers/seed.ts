// For the seed listeners' tests: a listener's port from the gateway's log, and a WebSocket client
// that keeps frames as the text they arrived as (the seeds' frames are not Octoway's {id, payload}).
import WebSocket from 'ws';
import type { GatewayProcess } from './gateway.js';
import { openRecording, refusal } from './client.js';

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
export async function textSocket(url: string, headers: Record<string, string> = {}): Promise<TextSocket> {
  const r = await openRecording(url, headers, (data) => data.toString());
  return { ws: r.ws, texts: r.items, closed: r.closed, waitFor: (count, timeoutMs) => r.waitFor(count, timeoutMs), close: () => r.close() };
}

/** The refusal of an upgrade that must be refused: its status and body. */
export async function refused(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const { status, body } = await refusal(url, headers);
  return { status, body };
}
