// Delivery bookkeeping: every frame checked (key, id, duplicates, order), latency from the payload's send time.
import type { FrameSink, WsConn } from './ws-client.js';

// `{"id":"` then the id, then `","payload":{"m":` — the exact shape of the gateway frame around our value.
const ID_PREFIX = Buffer.from('{"id":"');
const AFTER_ID = Buffer.from('","payload":{"m":');
// Octoway v2 (`octoway.v2`): `{"type":"message","id":"<id>","key"|"topic":"<name>"[,"seq":n],"payload":{"m":`.
// Only what the checks need is read: the id, and where the payload starts (found, not parsed: the
// address and seq are skipped; a socket gets only its own address's messages, checked by m below).
const V2_PREFIX = Buffer.from('{"type":"message","id":"');
const V2_PAYLOAD = Buffer.from(',"payload":{"m":');
const V2_TYPE = Buffer.from('{"type":"');
const Q_SEP = Buffer.from(',"q":');
const T_SEP = Buffer.from(',"t":');

export interface TrackerOptions {
  /** Messages published in the scenario, indexed m = 0..messages-1. */
  messages: number;
  /** Messages each key gets, numbered q = 0..perKey-1 in publish order. */
  perKey: number;
  keyOf: (m: number) => number;
  qOf: (m: number) => number;
  /** True where the scenario guarantees per-key order (sequential publishing); else order is only counted. */
  strictOrder: boolean;
  /** Room for this many latency samples (normally the expected deliveries). */
  latencySamples: number;
  /** v2 frames other than `message` (welcome, subscribed, error), whole; absent: they are problems. */
  onControl?: (conn: WsConn, text: string) => void;
}

export class Tracker implements FrameSink {
  readonly keyOfMsg: Int32Array;
  readonly qOfMsg: Int32Array;
  readonly expected: Int32Array;
  readonly perMsg: Int32Array;
  readonly frameIds: (string | undefined)[];
  private readonly idBufs: (Buffer | undefined)[];
  readonly lat: Float64Array;
  nLat = 0;
  delivered = 0;
  expectedTotal = 0;
  duplicates = 0;
  outOfOrder = 0;
  problems = 0;
  readonly firstProblems: string[] = [];
  private waitM = -1;
  private waitResolve: (() => void) | null = null;
  private allResolve: (() => void) | null = null;
  private allTarget = 0;

  constructor(readonly o: TrackerOptions) {
    this.keyOfMsg = new Int32Array(o.messages);
    this.qOfMsg = new Int32Array(o.messages);
    for (let m = 0; m < o.messages; m++) {
      this.keyOfMsg[m] = o.keyOf(m);
      this.qOfMsg[m] = o.qOf(m);
    }
    this.expected = new Int32Array(o.messages);
    this.perMsg = new Int32Array(o.messages);
    this.frameIds = new Array<string | undefined>(o.messages);
    this.idBufs = new Array<Buffer | undefined>(o.messages);
    this.lat = new Float64Array(o.latencySamples);
  }

  /** Binds a socket to its key before it connects. */
  register(conn: WsConn, key: number): void {
    conn.key = key;
    conn.got = new Uint8Array(this.o.perKey);
    conn.count = 0;
    conn.lastQ = -1;
  }

  /** Declares how many sockets should receive message m. */
  expect(m: number, sockets: number): void {
    this.expectedTotal += sockets - this.expected[m]!;
    this.expected[m] = sockets;
  }

  private problem(msg: string): void {
    this.problems++;
    if (this.firstProblems.length < 10) this.firstProblems.push(msg);
  }

  onText(conn: WsConn, buf: Buffer, s: number, e: number, nowUs: number): void {
    let m = -1;
    let q = -1;
    let t = -1;
    let idStart = s + ID_PREFIX.length;
    let idEnd = -1;
    let payloadAt = -1;
    // `{"i…` Goctopus, `{"t…` v2: one byte picks the prefix to compare.
    if (buf[s + 2] !== 0x74 && at(buf, s, ID_PREFIX, e)) {
      idEnd = buf.indexOf(0x22, idStart);
      if (idEnd > 0 && idEnd < e && at(buf, idEnd, AFTER_ID, e)) payloadAt = idEnd + AFTER_ID.length;
    } else if (at(buf, s, V2_PREFIX, e)) {
      idStart = s + V2_PREFIX.length;
      idEnd = buf.indexOf(0x22, idStart);
      const pl = idEnd > 0 && idEnd < e ? buf.indexOf(V2_PAYLOAD, idEnd) : -1;
      if (pl > 0 && pl + V2_PAYLOAD.length < e) payloadAt = pl + V2_PAYLOAD.length;
    } else if (this.o.onControl !== undefined && at(buf, s, V2_TYPE, e)) {
      return this.o.onControl(conn, buf.toString('utf8', s, e));
    }
    let p = idEnd + 1;
    if (payloadAt > 0) {
      p = payloadAt;
      let c = 0;
      let v = 0;
      while ((c = buf[p]!) >= 48 && c <= 57) (v = v * 10 + c - 48), p++;
      m = v;
      if (at(buf, p, Q_SEP, e)) {
        p += Q_SEP.length;
        v = 0;
        while ((c = buf[p]!) >= 48 && c <= 57) (v = v * 10 + c - 48), p++;
        q = v;
        if (at(buf, p, T_SEP, e)) {
          p += T_SEP.length;
          v = 0;
          while ((c = buf[p]!) >= 48 && c <= 57) (v = v * 10 + c - 48), p++;
          t = v;
        }
      }
    }
    if (t >= 0 && p < e) return this.record(conn, buf, idStart, idEnd, m, q, nowUs - t);
    // Not byte-for-byte our shape (a re-serialising server): fall back to a real parse.
    const r = slowParse(buf.toString('utf8', s, e));
    if (r === undefined) return this.problem(`socket ${conn.index}: unparseable frame ${buf.toString('utf8', s, Math.min(e, s + 120))}`);
    const id = Buffer.from(r.id, 'latin1');
    this.record(conn, id, 0, id.length, r.m, r.q, nowUs - r.t);
  }

  private record(conn: WsConn, buf: Buffer, idStart: number, idEnd: number, m: number, q: number, latUs: number): void {
    if (m >= this.o.messages || this.expected[m] === 0) return this.problem(`socket ${conn.index}: unexpected message m=${m}`);
    if (this.keyOfMsg[m] !== conn.key) return this.problem(`socket ${conn.index} (key ${conn.key}) got m=${m} of key ${this.keyOfMsg[m]}`);
    const known = this.idBufs[m];
    if (known === undefined) {
      const id = buf.toString('latin1', idStart, idEnd);
      this.frameIds[m] = id;
      this.idBufs[m] = Buffer.from(id, 'latin1');
    } else if (idEnd - idStart !== known.length || buf.compare(known, 0, known.length, idStart, idEnd) !== 0) {
      this.problem(`socket ${conn.index}: m=${m} arrived with id ${buf.toString('latin1', idStart, idEnd)}, others got ${this.frameIds[m]}`);
    }
    if (q !== this.qOfMsg[m] || q >= conn.got.length) return this.problem(`socket ${conn.index}: m=${m} carried q=${q}, expected ${this.qOfMsg[m]}`);
    if (conn.got[q]! > 0) {
      this.duplicates++;
      return this.problem(`socket ${conn.index}: duplicate m=${m} (q=${q})`);
    }
    conn.got[q] = 1;
    conn.count++;
    if (q < conn.lastQ) {
      this.outOfOrder++;
      if (this.o.strictOrder) this.problem(`socket ${conn.index}: q=${q} after q=${conn.lastQ} (out of order)`);
    }
    conn.lastQ = q;
    if (this.nLat < this.lat.length) this.lat[this.nLat++] = latUs;
    this.delivered++;
    const n = ++this.perMsg[m]!;
    if (m === this.waitM && n >= this.expected[m]!) this.waitResolve?.();
    if (this.delivered >= this.allTarget) this.allResolve?.();
  }

  /** Resolves once every socket expected to get message m got it; rejects with a diagnosis after timeoutMs. */
  waitMessage(m: number, timeoutMs: number, conns: readonly WsConn[]): Promise<void> {
    if (this.perMsg[m]! >= this.expected[m]!) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waitResolve = null;
        const key = this.keyOfMsg[m]!;
        const q = this.qOfMsg[m]!;
        const lacking = conns.filter((c) => c !== undefined && c.key === key && c.got[q] === 0);
        const which = lacking.slice(0, 10).map((c) => `${c.index}${c.state === 'open' ? '' : ` (${c.error ?? c.state})`}`);
        reject(new Error(`message m=${m} (key ${key}, q=${q}): ${this.perMsg[m]} of ${this.expected[m]} deliveries after ${timeoutMs} ms; missing on sockets ${which.join(', ')}${lacking.length > 10 ? ` and ${lacking.length - 10} more` : ''}${this.problemText()}`));
      }, timeoutMs);
      this.waitM = m;
      this.waitResolve = () => {
        clearTimeout(timer);
        this.waitM = -1;
        this.waitResolve = null;
        resolve();
      };
    });
  }

  /** Resolves once all expected deliveries arrived. */
  waitAll(timeoutMs: number, conns: readonly WsConn[]): Promise<void> {
    return this.waitCount(this.expectedTotal, timeoutMs, conns);
  }

  /** Resolves once `count` deliveries in total arrived; rejects with a diagnosis after timeoutMs. */
  waitCount(count: number, timeoutMs: number, conns: readonly WsConn[], uptoQ = this.o.perKey): Promise<void> {
    if (this.delivered >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.allResolve = null;
        reject(new Error(`${this.delivered} of ${count} deliveries after ${timeoutMs} ms; ${this.missing(conns, uptoQ)}`));
      }, timeoutMs);
      this.allTarget = count;
      this.allResolve = () => {
        clearTimeout(timer);
        this.allResolve = null;
        resolve();
      };
    });
  }

  /** Which sockets miss which of their messages q < uptoQ (first few), for a failure message. */
  missing(conns: readonly WsConn[], uptoQ = this.o.perKey): string {
    const lines: string[] = [];
    let short = 0;
    for (const c of conns) {
      if (c === undefined) continue;
      const miss: number[] = [];
      for (let q = 0; q < Math.min(uptoQ, c.got.length); q++) if (c.got[q] === 0) miss.push(q);
      if (miss.length === 0) continue;
      short++;
      if (lines.length < 5) {
        lines.push(`socket ${c.index} key ${c.key} (${c.state}${c.error ? ': ' + c.error : ''}) has ${c.count}/${Math.min(uptoQ, c.got.length)}, missing q=${miss.slice(0, 8).join(',')}`);
      }
    }
    return `${short} sockets short${lines.length > 0 ? ': ' + lines.join('; ') : ''}${this.problemText()}`;
  }

  private problemText(): string {
    return this.firstProblems.length > 0 ? `; problems: ${this.firstProblems.slice(0, 3).join(' | ')}` : '';
  }

  /** Final check: every socket complete, and each message's frame id equal to the id its POST returned. */
  verify(conns: readonly WsConn[], postIds: readonly (string | undefined)[]): void {
    const errors: string[] = [];
    if (this.problems > 0) errors.push(`${this.problems} bad frames: ${this.firstProblems.slice(0, 5).join(' | ')}`);
    if (this.delivered !== this.expectedTotal) errors.push(`${this.delivered} of ${this.expectedTotal} deliveries; ${this.missing(conns)}`);
    let idMismatch = 0;
    let sample = '';
    for (let m = 0; m < this.o.messages; m++) {
      if (this.expected[m] === 0) continue;
      const posted = postIds[m];
      if (posted !== this.frameIds[m]) {
        if (idMismatch++ === 0) sample = `m=${m}: POST said ${posted}, frame said ${this.frameIds[m]}`;
      }
    }
    if (idMismatch > 0) errors.push(`${idMismatch} messages whose frame id differs from the POST's id (${sample})`);
    if (errors.length > 0) throw new Error(errors.join('; '));
  }
}

/** True when `pat` sits at buf[p..] entirely before `end`. */
function at(buf: Buffer, p: number, pat: Buffer, end: number): boolean {
  return p >= 0 && p + pat.length <= end && buf.compare(pat, 0, pat.length, p, p + pat.length) === 0;
}

function slowParse(text: string): { id: string; m: number; q: number; t: number } | undefined {
  try {
    const f = JSON.parse(text) as { id?: unknown; payload?: { m?: unknown; q?: unknown; t?: unknown } };
    const p = f.payload;
    if (typeof f.id !== 'string' || p === undefined || typeof p.m !== 'number' || typeof p.q !== 'number' || typeof p.t !== 'number') return undefined;
    return { id: f.id, m: p.m, q: p.q, t: p.t };
  } catch {
    return undefined;
  }
}
