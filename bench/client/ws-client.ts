// Lean WebSocket client on raw node:net sockets: thousands per process, frames parsed in place.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { constants as zlib, inflateRawSync } from 'node:zlib';

// A fixed, valid key: servers don't check randomness, and a fixed key makes the expected accept a constant.
const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const WS_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';
const CRLFCRLF = Buffer.from('\r\n\r\n');
const EMPTY = new Uint8Array(0);
/** RFC 7692 §7.2.2: the sender strips this tail from each deflated message; the receiver adds it back. */
const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
// One read buffer for every socket (`onread`): no per-read allocation and no stream 'data' machinery, which
// costs the client more than the frame itself. Safe because each read is fully handled before the next;
// whatever must outlive it (a partial frame, an id) is copied.
const READ_BUF = Buffer.allocUnsafe(256 * 1024);

/** Receives every complete text/binary frame; `nowUs` is the arrival time of the chunk it came in. */
export interface FrameSink {
  onText(conn: WsConn, buf: Buffer, start: number, end: number, nowUs: number): void;
}

export type ConnState = 'connecting' | 'open' | 'closed';

export class WsConn {
  state: ConnState = 'connecting';
  /** Why the connection failed or closed early; null while all is well. */
  error: string | null = null;
  closeCode = 0;
  /** The status line and headers of a refused handshake (a 503's Retry-After, say); null otherwise. */
  refusedHead: string | null = null;
  // Per-socket delivery bookkeeping, owned by the Tracker (kept here to avoid a Map lookup per frame).
  key = -1;
  got: Uint8Array = EMPTY;
  count = 0;
  lastQ = -1;
  openedAtUs = 0;
  socket: net.Socket | null = null;
  private pending: Buffer | null = null;
  private onOpen: ((err: string | null) => void) | null = null;

  /** `deflate` offers permessage-deflate and inflates compressed frames. The server must accept it
   * without context takeover (uWS's shared compressor does), so each frame inflates on its own. */
  constructor(readonly index: number, private readonly sink: FrameSink, private readonly deflate = false, private readonly protocol = '') {}

  /** Connects and completes the handshake; resolves with an error text instead of rejecting. */
  open(host: string, port: number, path: string, timeoutMs: number): Promise<string | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.fail(`handshake timed out after ${timeoutMs} ms`), timeoutMs);
      this.onOpen = (err) => {
        clearTimeout(timer);
        this.onOpen = null;
        resolve(err);
      };
      const s = net.connect({
        host,
        port,
        noDelay: true,
        onread: { buffer: READ_BUF, callback: (n: number, b: Uint8Array) => (this.onData(b as Buffer, n), true) },
      });
      this.socket = s;
      s.on('connect', () => {
        s.write(
          `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\n` +
            (this.deflate ? 'Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n' : '') +
            (this.protocol === '' ? '' : `Sec-WebSocket-Protocol: ${this.protocol}\r\n`) + '\r\n',
        );
      });
      s.on('error', (e) => this.fail(`socket error: ${e.message}`));
      s.on('close', () => {
        if (this.state === 'connecting') this.fail('closed during handshake');
        else if (this.state === 'open') {
          this.state = 'closed';
          if (this.closeCode === 0) this.error ??= 'closed by server without a close frame';
        }
      });
    });
  }

  /** Sends a close frame and half-closes; the server's close reply ends the socket. */
  close(): void {
    if (this.state !== 'open' || this.socket === null) return;
    this.state = 'closed';
    this.closeCode = 1000;
    this.socket.end(maskedFrame(0x8, Buffer.from([0x03, 0xe8])));
  }

  /** Sends one small text frame (a v2 subscribe): at most 125 bytes, masked with a zero key. */
  sendText(text: string): void {
    if (this.state !== 'open' || this.socket === null) return;
    this.socket.write(maskedFrame(0x1, Buffer.from(text)));
  }

  destroy(): void {
    this.state = 'closed';
    this.socket?.destroy();
  }

  private fail(msg: string): void {
    this.error ??= msg;
    if (this.state !== 'closed') this.state = 'closed';
    this.socket?.destroy();
    this.onOpen?.(msg);
  }

  private onData(chunk: Buffer, n: number): void {
    const nowUs = performance.now() * 1000;
    let buf = this.pending === null ? chunk.subarray(0, n) : Buffer.concat([this.pending, chunk.subarray(0, n)]);
    this.pending = null;
    if (this.state === 'connecting') {
      const end = buf.indexOf(CRLFCRLF);
      if (end < 0) {
        this.pending = Buffer.from(buf);
        return;
      }
      const head = buf.toString('latin1', 0, end);
      if (!head.startsWith('HTTP/1.1 101')) {
        this.refusedHead = head;
        this.fail(`upgrade refused: ${head.split('\r\n', 1)[0] ?? ''}`);
        return;
      }
      if (!head.includes(WS_ACCEPT)) {
        this.fail('wrong Sec-WebSocket-Accept');
        return;
      }
      // A run that asks for compression measures nothing if the server declines it.
      if (this.deflate && !/^sec-websocket-extensions:\s*permessage-deflate\b.*server_no_context_takeover/im.test(head)) {
        this.fail('permessage-deflate (without server context takeover) not negotiated');
        return;
      }
      // A v2 run measures nothing if the server fell back to Goctopus frames.
      if (this.protocol !== '' && !new RegExp(`^sec-websocket-protocol:\\s*${this.protocol}\\s*$`, 'im').test(head)) {
        this.fail(`subprotocol ${this.protocol} not selected`);
        return;
      }
      this.state = 'open';
      this.openedAtUs = nowUs;
      this.onOpen?.(null);
      buf = buf.subarray(end + 4);
      if (buf.length === 0) return;
    }
    if (this.state === 'open') this.parse(buf, nowUs);
  }

  private parse(buf: Buffer, nowUs: number): void {
    const len = buf.length;
    let off = 0;
    while (len - off >= 2) {
      const b0 = buf[off]!;
      const b1 = buf[off + 1]!;
      let plen = b1 & 0x7f;
      let h = 2;
      if (plen === 126) {
        if (len - off < 4) break;
        plen = buf.readUInt16BE(off + 2);
        h = 4;
      } else if (plen === 127) {
        if (len - off < 10) break;
        plen = buf.readUInt32BE(off + 2) * 2 ** 32 + buf.readUInt32BE(off + 6);
        h = 10;
      }
      if ((b1 & 0x80) !== 0) {
        this.fail('server sent a masked frame');
        return;
      }
      const start = off + h;
      const end = start + plen;
      if (end > len) break;
      const op = b0 & 0x0f;
      if (op === 1 || op === 2) {
        // The gateway sends whole small frames; a fragmented one would be miscounted, so it's an error.
        if ((b0 & 0x80) === 0) {
          this.fail('fragmented frame');
          return;
        }
        if ((b0 & 0x40) === 0) this.sink.onText(this, buf, start, end, nowUs);
        else if (!this.deflate) {
          this.fail('compressed frame without permessage-deflate');
          return;
        } else {
          // A message ends in a sync flush, not a final block: without Z_SYNC_FLUSH zlib reports a truncated stream.
          let text: Buffer;
          try {
            text = inflateRawSync(Buffer.concat([buf.subarray(start, end), DEFLATE_TAIL]), { finishFlush: zlib.Z_SYNC_FLUSH });
          } catch (err) {
            this.fail(`cannot inflate a frame: ${(err as Error).message}`);
            return;
          }
          this.sink.onText(this, text, 0, text.length, nowUs);
        }
      } else if (op === 9) {
        this.socket?.write(maskedFrame(0xa, buf.subarray(start, end)));
      } else if (op === 8) {
        this.closeCode = plen >= 2 ? buf.readUInt16BE(start) : 1005;
        if (this.state === 'open') {
          this.error ??= `closed by server, code ${this.closeCode}`;
          this.state = 'closed';
          this.socket?.end(maskedFrame(0x8, buf.subarray(start, Math.min(end, start + 2))));
        }
        return;
      } else if (op !== 0xa) {
        this.fail(`unexpected opcode ${op}`);
        return;
      }
      off = end;
    }
    if (off < len) this.pending = Buffer.from(buf.subarray(off));
  }

  /** Test hook for --selfcheck: feeds bytes as if they came from the socket. */
  feedForTest(chunk: Buffer): void {
    this.state = 'open';
    this.onData(chunk, chunk.length);
  }
}

/** Client frames must be masked; a zero mask key is valid and leaves the payload as is. */
function maskedFrame(op: number, payload: Buffer): Buffer {
  if (payload.length > 125) throw new Error('frame payload too long for this client (125 bytes at most)');
  const f = Buffer.alloc(6 + payload.length);
  f[0] = 0x80 | op;
  f[1] = 0x80 | payload.length;
  payload.copy(f, 6);
  return f;
}

export interface OpenManyOptions {
  host: string;
  port: number;
  /** Port of socket i, when the sockets are spread over several servers; else `port` for all. */
  portOf?: (i: number) => number;
  count: number;
  path: (i: number) => string;
  /** Handshakes in flight at once. */
  inFlight: number;
  sink: FrameSink;
  /** Called before connecting, so bookkeeping exists before the first frame (held messages can ride with the 101). */
  init?: (conn: WsConn, i: number) => void;
  /** Offer permessage-deflate and require it (see WsConn). */
  deflate?: boolean;
  /** Subprotocol to offer (`octoway.v2`); none when absent. */
  protocol?: string;
  handshakeTimeoutMs?: number;
  totalTimeoutMs: number;
}

export interface OpenManyResult {
  conns: WsConn[];
  startUs: number;
  endUs: number;
  failures: string[];
}

/** Opens `count` sockets with at most `inFlight` handshakes pending; never hangs past totalTimeoutMs. */
export async function openMany(o: OpenManyOptions): Promise<OpenManyResult> {
  const conns: WsConn[] = [];
  const failures: string[] = [];
  const startUs = performance.now() * 1000;
  const deadline = Date.now() + o.totalTimeoutMs;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < o.count && Date.now() < deadline) {
      const i = next++;
      const conn = new WsConn(i, o.sink, o.deflate === true, o.protocol ?? '');
      o.init?.(conn, i);
      conns[i] = conn;
      const err = await conn.open(o.host, o.portOf?.(i) ?? o.port, o.path(i), o.handshakeTimeoutMs ?? 15_000);
      if (err !== null) failures.push(`socket ${i} (${o.path(i)}): ${err}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.inFlight, o.count) }, worker));
  const endUs = performance.now() * 1000;
  if (next < o.count) failures.push(`only ${next} of ${o.count} handshakes started within ${o.totalTimeoutMs} ms`);
  return { conns, startUs, endUs, failures };
}

/** Throws a readable summary when any socket failed to open. */
export function assertOpened(r: OpenManyResult, what: string): void {
  if (r.failures.length === 0) return;
  const sample = r.failures.slice(0, 5).join('; ');
  throw new Error(`${what}: ${r.failures.length} of ${r.conns.length} sockets failed to open — ${sample}`);
}

/** Closes every socket and waits (bounded) until the server has let go of them all. */
export async function closeAll(conns: WsConn[], timeoutMs: number): Promise<number> {
  const waits = conns.map(
    (c) =>
      new Promise<void>((resolve) => {
        const s = c.socket;
        if (s === null || s.destroyed) return resolve();
        s.once('close', () => resolve());
        c.close();
      }),
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
  const r = await Promise.race([Promise.all(waits), timeout]);
  clearTimeout(timer);
  let forced = 0;
  if (r === 'timeout') {
    for (const c of conns) {
      if (c.socket !== null && !c.socket.destroyed) {
        forced++;
        c.destroy();
      }
    }
  }
  return forced;
}
