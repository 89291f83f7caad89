// A WebSocket client for tests (the `ws` package): records frames and waits on them by event.
import WebSocket from 'ws';

export interface Frame { id: string; payload: unknown }

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

/** Opens a socket and resolves once it is open; rejects with the HTTP status if the upgrade is refused. */
export function connect(url: string, headers: Record<string, string> = {}): Promise<TestSocket> {
  const ws = new WebSocket(url, { headers });
  const frames: Frame[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  let closeCode: number | undefined;
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => { closeCode = code; resolve(code); }));
  ws.on('message', (data) => {
    frames.push(JSON.parse(data.toString()) as Frame);
    for (const w of waiters.filter((x) => frames.length >= x.count)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const socket: TestSocket = {
    ws, frames, closed,
    waitForFrames(count, timeoutMs = 5_000) {
      if (frames.length >= count) return Promise.resolve(frames);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`expected ${count} frames, got ${frames.length}: ${JSON.stringify(frames)}`)), timeoutMs);
        waiters.push({ count, resolve: () => { clearTimeout(timer); resolve(frames); } });
        void closed.then((code) => { if (frames.length < count) { clearTimeout(timer); reject(new Error(`closed (${code}) after ${frames.length} of ${count} frames`)); } });
      });
    },
    send: (data) => ws.send(JSON.stringify(data)),
    close() {
      if (closeCode === undefined) ws.close();
      return closed;
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(socket));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode, body, headers: res.headers })));
    });
    ws.once('error', (err) => reject(err));
  });
}

/** Expects the upgrade to be refused; resolves with the status, body and headers. */
export async function refusal(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  try {
    const socket = await connect(url, headers);
    await socket.close();
  } catch (err) {
    const e = err as { status?: number; body?: string; headers?: Record<string, unknown> };
    if (e.status !== undefined) return { status: e.status, body: e.body ?? '', headers: e.headers ?? {} };
    throw err;
  }
  throw new Error(`upgrade to ${url} was accepted; a refusal was expected`);
}
