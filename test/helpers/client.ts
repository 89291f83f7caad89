// A WebSocket client for tests (the `ws` package): records frames and waits on them by event.
import WebSocket from 'ws';

export interface Frame { id: string; payload: unknown }

/** A socket that keeps every frame as `parse` made it, and waits for them by count. */
export interface Recording<T> {
  readonly ws: WebSocket;
  readonly items: T[];
  /** Resolves with the close code. */
  readonly closed: Promise<number>;
  /** Resolves once `count` frames in all have arrived; rejects on close or after the timeout. */
  waitFor(count: number, timeoutMs?: number): Promise<T[]>;
  close(): Promise<number>;
}

/** Opens a socket and resolves once it is open; rejects with {status, body, headers} when the
 * upgrade is refused. */
export function openRecording<T>(url: string, headers: Record<string, string>, parse: (data: WebSocket.RawData) => T): Promise<Recording<T>> {
  const ws = new WebSocket(url, { headers });
  const items: T[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  let closeCode: number | undefined;
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => { closeCode = code; resolve(code); }));
  ws.on('message', (data) => {
    items.push(parse(data));
    for (const w of waiters.filter((x) => items.length >= x.count)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const recording: Recording<T> = {
    ws, items, closed,
    waitFor(count, timeoutMs = 5_000) {
      if (items.length >= count) return Promise.resolve(items);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`expected ${count} frames, got ${items.length}: ${JSON.stringify(items)}`)), timeoutMs);
        waiters.push({ count, resolve: () => { clearTimeout(timer); resolve(items); } });
        void closed.then((code) => { if (items.length < count) { clearTimeout(timer); reject(new Error(`closed (${code}) after ${items.length} of ${count} frames: ${JSON.stringify(items)}`)); } });
      });
    },
    close() {
      if (closeCode === undefined) ws.close();
      return closed;
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(recording));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode, body, headers: res.headers })));
    });
    ws.once('error', (err) => reject(err));
  });
}

export interface TestSocket {
  readonly ws: WebSocket;
  readonly frames: Frame[];
  /** Resolves once `count` frames in all have arrived. */
  waitForFrames(count: number, timeoutMs?: number): Promise<Frame[]>;
  /** Resolves with the close code. */
  closed: Promise<number>;
  send(data: unknown): void;
  close(): Promise<number>;
}

/** An Octoway (Goctopus-framed) socket: frames parsed as {id, payload}. Rejects with the HTTP
 * status if the upgrade is refused. */
export async function connect(url: string, headers: Record<string, string> = {}): Promise<TestSocket> {
  const r = await openRecording(url, headers, (data) => JSON.parse(data.toString()) as Frame);
  return {
    ws: r.ws,
    frames: r.items,
    waitForFrames: (count, timeoutMs) => r.waitFor(count, timeoutMs),
    closed: r.closed,
    send: (data) => r.ws.send(JSON.stringify(data)),
    close: () => r.close(),
  };
}

/** Expects the upgrade to be refused; resolves with the status, body and headers. */
export async function refusal(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  try {
    // Frames kept as text: an upgrade wrongly accepted must fail the test, not the frame parser.
    const socket = await openRecording(url, headers, (data) => data.toString());
    await socket.close();
  } catch (err) {
    const e = err as { status?: number; body?: string; headers?: Record<string, unknown> };
    if (e.status !== undefined) return { status: e.status, body: e.body ?? '', headers: e.headers ?? {} };
    throw err;
  }
  throw new Error(`upgrade to ${url} was accepted; a refusal was expected`);
}
