// A v2 (`octoway.v2`) WebSocket client for tests: records every frame parsed, waits for frames by
// predicate, and sends client frames with a `ref` to await their reply.
import WebSocket from 'ws';

export interface V2Socket {
  readonly ws: WebSocket;
  /** Every frame received, parsed; the welcome first. */
  readonly frames: any[];
  /** The frames of type `message`, in arrival order. */
  messages(): any[];
  /** Resolves with the first frame (already received or future) matching. */
  waitFor(match: (frame: any) => boolean, timeoutMs?: number): Promise<any>;
  /** Sends `frame` with a fresh `ref` and resolves with the reply carrying it. */
  request(frame: Record<string, unknown>): Promise<any>;
  send(data: unknown): void;
  readonly closed: Promise<{ code: number; reason: string }>;
  close(): Promise<{ code: number; reason: string }>;
}

let refs = 0;

/** Opens a socket offering `protocols` (octoway.v2 by default); resolves once its welcome arrived. */
export function connectV2(url: string, headers: Record<string, string> = {}, protocols: string[] = ['octoway.v2']): Promise<V2Socket> {
  const ws = new WebSocket(url, protocols, { headers });
  const frames: any[] = [];
  const waiters: Array<{ match: (f: any) => boolean; resolve: (f: any) => void }> = [];
  let done: { code: number; reason: string } | undefined;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => { done = { code, reason: reason.toString() }; resolve(done); }));
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    frames.push(frame);
    for (const w of waiters.filter((x) => x.match(frame))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(frame);
    }
  });
  const waitFor = (match: (f: any) => boolean, timeoutMs = 5_000): Promise<any> => {
    const seen = frames.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching frame in ${timeoutMs} ms; got ${JSON.stringify(frames)}`)), timeoutMs);
      waiters.push({ match, resolve: (f) => { clearTimeout(timer); resolve(f); } });
      void closed.then((c) => { clearTimeout(timer); reject(new Error(`closed (${c.code} ${c.reason}) without a matching frame; got ${JSON.stringify(frames)}`)); });
    });
  };
  const socket: V2Socket = {
    ws, frames, closed, waitFor,
    messages: () => frames.filter((f) => f.type === 'message'),
    request(frame) {
      const ref = `r${++refs}`;
      ws.send(JSON.stringify({ ...frame, ref }));
      return waitFor((f) => f.ref === ref);
    },
    send: (data) => ws.send(typeof data === 'string' ? data : JSON.stringify(data)),
    close() {
      if (done === undefined) ws.close();
      return closed;
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      if (ws.protocol !== 'octoway.v2') return resolve(socket);
      waitFor((f) => f.type === 'welcome').then(() => resolve(socket), reject);
    });
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', (err) => reject(err));
  });
}

/** Waits until a socket has received `count` messages, or fails naming what it got. */
export async function messagesOf(socket: V2Socket, count: number): Promise<any[]> {
  await socket.waitFor(() => socket.messages().length >= count);
  return socket.messages();
}
