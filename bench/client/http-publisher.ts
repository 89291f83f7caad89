// Publisher on raw keep-alive HTTP/1.1 sockets: request bytes written by hand, status + body parsed by hand.
import net from 'node:net';

const CRLFCRLF = Buffer.from('\r\n\r\n');
// Shared read buffer (`onread`), as in ws-client: responses are parsed before the next read can land.
const READ_BUF = Buffer.allocUnsafe(256 * 1024);
export const BASIC_AUTH = 'Basic ' + Buffer.from('bench:bench').toString('base64');
const BASIC_LINE = `Authorization: ${BASIC_AUTH}\r\n`;

export interface HttpResponse {
  status: number;
  body: string;
}

interface Pending {
  resolve: (r: HttpResponse) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** One keep-alive connection with one request in flight (no pipelining: "N in flight" = N connections). */
export class HttpConn {
  private socket: net.Socket | null = null;
  private buf: Buffer | null = null;
  private pending: Pending | null = null;
  private reconnect = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly timeoutMs = 60_000,
  ) {}

  private connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = net.connect({
        host: this.host,
        port: this.port,
        noDelay: true,
        onread: { buffer: READ_BUF, callback: (n: number, b: Uint8Array) => (this.onData((b as Buffer).subarray(0, n)), true) },
      });
      s.once('connect', () => {
        s.off('error', reject);
        s.on('error', (e) => this.abort(`publisher socket error: ${e.message}`));
        resolve();
      });
      s.once('error', reject);
      s.on('close', () => {
        if (this.socket === s) this.socket = null;
        this.abort('publisher connection closed by the server');
      });
      this.socket = s;
      this.buf = null;
    });
  }

  /** `credentials`: the header line(s) that authenticate this request (default: Basic bench:bench). */
  async request(method: string, path: string, body = '', credentials = BASIC_LINE): Promise<HttpResponse> {
    if (this.pending !== null) throw new Error('HttpConn: one request at a time');
    if (this.socket === null || this.reconnect) {
      this.socket?.destroy();
      this.reconnect = false;
      await this.connect();
    }
    const head =
      `${method} ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\n${credentials}` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    return new Promise<HttpResponse>((resolve, reject) => {
      const timer = setTimeout(() => this.abort(`${method} ${path}: no response within ${this.timeoutMs} ms`), this.timeoutMs);
      this.pending = { resolve, reject, timer };
      this.socket!.write(head + body);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private abort(msg: string): void {
    const p = this.pending;
    if (p === null) return;
    this.pending = null;
    clearTimeout(p.timer);
    this.reconnect = true;
    p.reject(new Error(msg));
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    if (!this.parse()) this.buf = this.buf === null ? null : Buffer.from(this.buf);
  }

  /** Consumes one complete response if there is one; false when more bytes are needed. */
  private parse(): boolean {
    if (this.buf === null) return true;
    const buf = this.buf;
    const he = buf.indexOf(CRLFCRLF);
    if (he < 0) return false;
    const head = buf.toString('latin1', 0, he).toLowerCase();
    const status = Number(head.slice(9, 12));
    const bodyStart = he + 4;
    let body: string | undefined;
    let consumed = 0;
    const cl = /\r\ncontent-length:\s*(\d+)/.exec(head);
    if (cl !== null) {
      const n = Number(cl[1]);
      if (buf.length - bodyStart < n) return false;
      body = buf.toString('utf8', bodyStart, bodyStart + n);
      consumed = bodyStart + n;
    } else if (/\r\ntransfer-encoding:\s*chunked/.test(head)) {
      const r = dechunk(buf, bodyStart);
      if (r === undefined) return false;
      body = r.body;
      consumed = r.end;
    } else {
      // No length header: an empty body (a 401/404 from a reference); every 202 carries one.
      body = '';
      consumed = bodyStart;
    }
    this.buf = consumed < buf.length ? Buffer.from(buf.subarray(consumed)) : null;
    if (/\r\nconnection:\s*close/.test(head)) this.reconnect = true;
    const p = this.pending;
    if (p === null) return true;
    this.pending = null;
    clearTimeout(p.timer);
    p.resolve({ status, body });
    return true;
  }
}

/** Decodes a complete chunked body; undefined while more bytes are needed. */
export function dechunk(buf: Buffer, from: number): { body: string; end: number } | undefined {
  const parts: Buffer[] = [];
  let off = from;
  for (;;) {
    const le = buf.indexOf('\r\n', off, 'latin1');
    if (le < 0) return undefined;
    const size = parseInt(buf.toString('latin1', off, le), 16);
    if (!Number.isFinite(size)) throw new Error('bad chunk size');
    const start = le + 2;
    if (size === 0) {
      const te = buf.indexOf(CRLFCRLF, le);
      // Trailer-less end is "0\r\n\r\n": the CRLF right after the size line closes it.
      const end = buf.length >= start + 2 && buf[start] === 13 ? start + 2 : te >= 0 ? te + 4 : -1;
      if (end < 0) return undefined;
      return { body: Buffer.concat(parts).toString('utf8'), end };
    }
    if (buf.length < start + size + 2) return undefined;
    parts.push(buf.subarray(start, start + size));
    off = start + size + 2;
  }
}

/** Runs jobs 0..count-1 in order over the given connections, one in flight per connection. */
export async function runPool(
  conns: HttpConn[],
  count: number,
  job: (i: number, conn: HttpConn) => Promise<void>,
  deadlineMs: number,
): Promise<void> {
  let next = 0;
  const deadline = Date.now() + deadlineMs;
  await Promise.all(
    conns.map(async (conn) => {
      while (next < count) {
        if (Date.now() > deadline) throw new Error(`publishing: only ${next} of ${count} requests sent within ${deadlineMs} ms`);
        await job(next++, conn);
      }
    }),
  );
}
