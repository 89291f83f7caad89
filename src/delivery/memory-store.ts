// The in-memory held-message store: entries (one per message and key) packed in a HeldRing, frames
// kept as UTF-8 bytes, expired entries reclaimed by a budgeted sweep. Single node only; state
// survives a restart through the state file (state-file.ts).
import type { Logger } from '../log.js';
import type { HeldMessage, HeldStore, HeldStoreStats } from './held-store.js';
import { HeldRing, type EntryData } from './held-ring.js';
import { ExpiringSet } from './expiring-set.js';
import { compilePattern } from './key-pattern.js';

export interface MemoryStoreOptions {
  readonly maxHeld: number;
  readonly maxHeldPerKey: number;
  /** How often expired entries are reclaimed when nobody reads them. */
  readonly sweepIntervalMs?: number;
}

const DROP_LOG_INTERVAL_MS = 60_000;
/** Entries (and remembered message_ids) examined per sweep: a few milliseconds at most, so the
 * event loop is never held long; a million entries are covered in a few sweeps. */
const SWEEP_BUDGET = 250_000;
/** Most remembered message_ids when WS_MAX_HELD is smaller. */
const MIN_MESSAGE_IDS = 1000;

/** Entry flags. FRAME_OF: the bytes are the id's JSON text (unquoted), the expire text and a newline,
 * then the payload's, and the frame is rebuilt as frameOf builds it; otherwise they are the id, the
 * expire text and a newline, then the frame verbatim. (An expire text never holds a newline.) */
const FRAME_OF = 1;
/** The id's JSON text has escapes, so it is parsed rather than used as it is. */
const ESCAPED = 2;
/** The id is a lowercase UUID (what newMessageId gives), kept as its 16 bytes rather than 36 characters. */
const UUID = 4;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class MemoryStore implements HeldStore {
  #ring = new HeldRing();
  readonly #messageIds: ExpiringSet;
  readonly #maxHeld: number;
  readonly #maxPerKey: number;
  readonly #log: Logger;
  readonly #timers: NodeJS.Timeout[];
  /** Drops since the last log line, per key: logged once per key per minute, not per drop. */
  readonly #pendingDrops = new Map<string, number>();
  /** Next sequence number the sweep looks at. */
  #sweepFrom = 0;
  #droppedPerKey = 0;
  #droppedTotal = 0;
  #expired = 0;

  constructor(options: MemoryStoreOptions, log: Logger) {
    this.#maxHeld = options.maxHeld;
    this.#maxPerKey = options.maxHeldPerKey;
    this.#log = log;
    this.#messageIds = new ExpiringSet(Math.max(MIN_MESSAGE_IDS, options.maxHeld));
    const sweep = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 1_000);
    const report = setInterval(() => this.#reportDrops(), DROP_LOG_INTERVAL_MS);
    sweep.unref();
    report.unref();
    this.#timers = [sweep, report];
  }

  async hold(message: Omit<HeldMessage, 'key'>, keys: readonly string[]): Promise<void> {
    this.holdSync(message, keys);
  }

  /** Synchronous form, so the single-node dispatcher can decide and store in one tick. */
  holdSync(message: Omit<HeldMessage, 'key'>, keys: readonly string[]): void {
    if (message.expiresAt <= Date.now() || keys.length === 0) return;
    const ring = this.#ring;
    let entry: EntryData | undefined;
    for (const key of keys) {
      let keyId = ring.keys.acquire(key);
      const count = ring.keys.count[keyId] as number;
      if (count > 0 && count >= this.#maxPerKey) {
        ring.kill(ring.keys.head[keyId] as number);
        this.#droppedPerKey++;
        this.#noteDrop(key);
        keyId = ring.keys.acquire(key); // the drop may have emptied (and forgotten) the key
        // An empty ring releases its bytes, this message's too if already written (a key given twice).
        if (ring.live === 0) entry = undefined;
      }
      // Written once, shared by the message's entries for every key.
      entry ??= this.#writeBytes(message);
      ring.push(keyId, entry);
      if (ring.live > this.#maxHeld) {
        const oldest = ring.head; // the ring head is always live
        this.#noteDrop(ring.keys.names[ring.keyOf(oldest)] as string);
        ring.kill(oldest);
        this.#droppedTotal++;
      }
    }
  }

  async fetch(keys: readonly string[], remove: boolean): Promise<HeldMessage[]> {
    return this.fetchSync(keys, remove);
  }

  fetchSync(keys: readonly string[], remove: boolean): HeldMessage[] {
    const now = Date.now();
    const found: number[] = [];
    for (const key of keys) this.#live(key, now, (seq) => found.push(seq));
    if (keys.length > 1) found.sort((a, b) => a - b);
    const seen = new Set<string>();
    const out: HeldMessage[] = [];
    for (const seq of found) {
      const message = this.#read(seq);
      if (seen.has(message.id)) continue;
      seen.add(message.id);
      out.push(message);
    }
    // Read first, then removed: a removal may release the bytes.
    if (remove) for (const seq of found) this.#ring.kill(seq);
    return out;
  }

  async ack(keys: readonly string[], id: string): Promise<number> {
    let removed = 0;
    for (const key of keys) removed += this.#removeWhere(key, id);
    return removed;
  }

  async keys(): Promise<Array<{ key: string; count: number }>> {
    const now = Date.now();
    const out: Array<{ key: string; count: number }> = [];
    for (const [, key] of [...this.#ring.keys.entries()]) {
      let count = 0;
      this.#live(key, now, () => count++);
      if (count > 0) out.push({ key, count });
    }
    return out;
  }

  async list(key: string): Promise<HeldMessage[]> {
    return this.fetchSync([key], false);
  }

  async heldKeysMatching(patterns: readonly string[]): Promise<string[]> {
    return this.heldKeysMatchingSync(patterns);
  }

  /** One test per pattern per key with held messages: a pattern socket's connect costs a pass over
   * the held keys (a few ms per 100,000), paid only by pattern sockets. */
  heldKeysMatchingSync(patterns: readonly string[]): string[] {
    const matchers = patterns.map(compilePattern);
    const out: string[] = [];
    for (const [, key] of this.#ring.keys.entries()) if (matchers.some((m) => m(key))) out.push(key);
    return out;
  }

  async remove(selector: { key?: string; id?: string }): Promise<number> {
    if (selector.key !== undefined) return this.#removeWhere(selector.key, selector.id);
    let count = 0;
    this.#eachUnexpired(Date.now(), () => count++);
    this.#ring = new HeldRing();
    this.#sweepFrom = 0;
    return count;
  }

  async rememberMessageId(messageId: string, ttlMs: number): Promise<boolean> {
    return this.#messageIds.add(messageId, ttlMs);
  }

  async forgetMessageId(messageId: string): Promise<void> {
    this.#messageIds.delete(messageId);
  }

  /** Every unexpired entry, oldest first: what the state file saves. */
  dump(): HeldMessage[] {
    const all: HeldMessage[] = [];
    this.#eachUnexpired(Date.now(), (seq) => all.push(this.#read(seq)));
    return all;
  }

  stats(): HeldStoreStats {
    const ring = this.#ring;
    return { held: ring.live, droppedPerKey: this.#droppedPerKey, droppedTotal: this.#droppedTotal, keys: ring.keys.size, expired: this.#expired };
  }

  /** What the store occupies: entries (live and dead) in the ring and bytes allocated for frames. */
  footprint(): { entries: number; bytes: number } {
    return { entries: this.#ring.tail - this.#ring.head, bytes: this.#ring.bytes.allocated };
  }

  /** Removes up to SWEEP_BUDGET expired entries, continuing where the last sweep stopped, then
   * compacts if removals left more dead entries than live. Runs on a timer; public for tests. */
  sweep(now = Date.now()): void {
    const ring = this.#ring;
    let seq = Math.max(this.#sweepFrom, ring.head);
    const end = Math.min(ring.tail, seq + SWEEP_BUDGET);
    for (; seq < end; seq++) if (ring.isLive(seq) && ring.expiresAt(seq) <= now) this.#expire(seq);
    this.#sweepFrom = seq < ring.tail ? seq : 0;
    if (ring.maintain()) this.#sweepFrom = 0;
    this.#messageIds.sweep(SWEEP_BUDGET, now);
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#reportDrops();
  }

  #writeBytes(message: Omit<HeldMessage, 'key'>): EntryData {
    const { id, frame } = message;
    const bytes = this.#ring.bytes;
    const position = bytes.end;
    const quoted = JSON.stringify(id);
    let flags = 0;
    let idLength: number;
    // A frame built by frameOf is `{"id":<quoted id>,"payload":<payload>}`: keep only the id's text
    // and the payload, and rebuild the rest on read (a fifth of a 100-byte message).
    if (frame.startsWith('{"id":') && frame.startsWith(quoted, 6) && frame.startsWith(',"payload":', 6 + quoted.length)
      && frame.endsWith('}')) {
      if (UUID_PATTERN.test(id)) {
        flags = FRAME_OF | UUID;
        idLength = bytes.append(id.replaceAll('-', ''), 'hex');
      } else {
        flags = FRAME_OF | (quoted.length === id.length + 2 ? 0 : ESCAPED);
        idLength = bytes.append(quoted.slice(1, -1));
      }
      bytes.append(`${message.expire}\n`);
      bytes.append(frame.slice(17 + quoted.length, -1));
    } else {
      idLength = bytes.append(id);
      bytes.append(`${message.expire}\n`);
      bytes.append(frame);
    }
    return { position, length: bytes.end - position, idLength, flags, createdAt: message.createdAt, expiresAt: message.expiresAt };
  }

  #read(seq: number): HeldMessage {
    const ring = this.#ring;
    const e = ring.data(seq);
    const idText = this.#idText(e);
    const text = ring.bytes.text(e.position + e.idLength, e.length - e.idLength);
    const newline = text.indexOf('\n');
    const expire = text.slice(0, newline);
    const rest = text.slice(newline + 1);
    const key = ring.keys.names[ring.keyOf(seq)] as string;
    const times = { createdAt: e.createdAt, expiresAt: e.expiresAt, expire };
    if ((e.flags & FRAME_OF) === 0) return { id: idText, key, frame: rest, ...times };
    const id = (e.flags & ESCAPED) === 0 ? idText : (JSON.parse(`"${idText}"`) as string);
    return { id, key, frame: `{"id":"${idText}","payload":${rest}}`, ...times };
  }

  /** The id as stored in the frame: its JSON text without quotes (escaped when ESCAPED). */
  #idText(e: EntryData): string {
    if ((e.flags & UUID) === 0) return this.#ring.bytes.text(e.position, e.idLength);
    const h = this.#ring.bytes.text(e.position, e.idLength, 'hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  /** Calls `visit` with every unexpired entry, oldest first; expired ones are left to the sweep. */
  #eachUnexpired(now: number, visit: (seq: number) => void): void {
    const ring = this.#ring;
    for (let seq = ring.head; seq < ring.tail; seq++) if (ring.isLive(seq) && ring.expiresAt(seq) > now) visit(seq);
  }

  /** Calls `visit` with each unexpired entry of `key`, oldest first; removes the expired ones met. */
  #live(key: string, now: number, visit: (seq: number) => void): void {
    const ring = this.#ring;
    const keyId = ring.keys.idOf(key);
    if (keyId === undefined) return;
    ring.forEachOfKey(keyId, (seq) => {
      if (!ring.isLive(seq)) return;
      if (ring.expiresAt(seq) <= now) this.#expire(seq);
      else visit(seq);
    });
  }

  /** Removes the key's entries with id `id` (all of them without one); returns how many. */
  #removeWhere(key: string, id: string | undefined): number {
    const matched: number[] = [];
    this.#live(key, Date.now(), (seq) => {
      if (id === undefined || this.#idOf(seq) === id) matched.push(seq);
    });
    for (const seq of matched) this.#ring.kill(seq);
    return matched.length;
  }

  #idOf(seq: number): string {
    const e = this.#ring.data(seq);
    const text = this.#idText(e);
    return (e.flags & ESCAPED) === 0 ? text : (JSON.parse(`"${text}"`) as string);
  }

  #expire(seq: number): void {
    this.#ring.kill(seq);
    this.#expired++;
  }

  #noteDrop(key: string): void {
    this.#pendingDrops.set(key, (this.#pendingDrops.get(key) ?? 0) + 1);
  }

  #reportDrops(): void {
    for (const [key, dropped] of this.#pendingDrops) {
      this.#log.warn({ key, dropped }, 'held messages dropped: WS_MAX_HELD_PER_KEY or WS_MAX_HELD reached');
    }
    this.#pendingDrops.clear();
  }
}
