// The in-memory held-message store: an lru-cache of entries (one per message and key) in
// insertion order, with a per-key index. Single node only; state survives a restart through
// the state file (state-file.ts).
import { LRUCache } from 'lru-cache';
import type { Logger } from '../log.js';
import type { HeldMessage, HeldStore, HeldStoreStats } from './held-store.js';

export interface MemoryStoreOptions {
  readonly maxHeld: number;
  readonly maxHeldPerKey: number;
  /** How often expired entries are reclaimed when nobody reads them. */
  readonly sweepIntervalMs?: number;
}

interface Entry extends HeldMessage {
  /** Global insertion order; also the cache key, a small integer rather than a string. */
  readonly seq: number;
}

const DROP_LOG_INTERVAL_MS = 60_000;

export class MemoryStore implements HeldStore {
  readonly #entries: LRUCache<number, Entry>;
  readonly #byKey = new Map<string, Set<number>>();
  readonly #messageIds: LRUCache<string, true>;
  readonly #maxPerKey: number;
  readonly #log: Logger;
  readonly #timers: NodeJS.Timeout[];
  /** Drops since the last log line, per key: logged once per key per minute, not per drop. */
  readonly #pendingDrops = new Map<string, number>();
  #seq = 0;
  #droppedPerKey = 0;
  #droppedTotal = 0;

  constructor(options: MemoryStoreOptions, log: Logger) {
    this.#maxPerKey = options.maxHeldPerKey;
    this.#log = log;
    this.#entries = new LRUCache<number, Entry>({
      max: options.maxHeld,
      // Reads use peek-style access: "oldest" must mean first stored, not least recently read.
      updateAgeOnGet: false,
      allowStale: false,
      dispose: (entry, seq, reason) => this.#forget(entry, seq, reason),
    });
    this.#messageIds = new LRUCache<string, true>({ max: Math.max(1000, options.maxHeld) });
    // lru-cache's own autopurge keeps one timer per entry; one sweep is far cheaper at a million.
    const sweep = setInterval(() => this.#entries.purgeStale(), options.sweepIntervalMs ?? 1_000);
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
    const ttl = message.expiresAt - Date.now();
    if (ttl <= 0) return;
    for (const key of keys) {
      let index = this.#byKey.get(key);
      if (index === undefined) this.#byKey.set(key, (index = new Set()));
      if (index.size >= this.#maxPerKey) {
        const oldest = index.values().next().value as number;
        this.#entries.delete(oldest);
        this.#droppedPerKey++;
        this.#noteDrop(key);
        if (!this.#byKey.has(key)) this.#byKey.set(key, index);
      }
      const seq = ++this.#seq;
      index.add(seq);
      // A literal, not a spread: V8 gives spread copies a far larger shape (346 B against 82 B
      // per entry, measured), which at a million held messages is a third of a gigabyte.
      const entry: Entry = { id: message.id, key, frame: message.frame, createdAt: message.createdAt, expiresAt: message.expiresAt, seq };
      this.#entries.set(seq, entry, { ttl });
    }
  }

  async fetch(keys: readonly string[], remove: boolean): Promise<HeldMessage[]> {
    return this.fetchSync(keys, remove);
  }

  fetchSync(keys: readonly string[], remove: boolean): HeldMessage[] {
    const found: Entry[] = [];
    for (const key of keys) {
      const index = this.#byKey.get(key);
      if (index === undefined) continue;
      for (const seq of [...index]) {
        const entry = this.#entries.get(seq); // undefined (and removed) when expired
        if (entry === undefined) continue;
        found.push(entry);
        if (remove) this.#entries.delete(seq);
      }
    }
    return oldestFirstUnique(found);
  }

  async ack(keys: readonly string[], id: string): Promise<number> {
    let removed = 0;
    for (const key of keys) removed += this.#removeWhere(key, (e) => e.id === id);
    return removed;
  }

  async keys(): Promise<Array<{ key: string; count: number }>> {
    const out: Array<{ key: string; count: number }> = [];
    for (const [key, index] of this.#byKey) {
      let count = 0;
      for (const seq of index) if (this.#entries.has(seq)) count++;
      if (count > 0) out.push({ key, count });
    }
    return out;
  }

  async list(key: string): Promise<HeldMessage[]> {
    return this.fetchSync([key], false);
  }

  async remove(selector: { key?: string; id?: string }): Promise<number> {
    if (selector.key === undefined) {
      const count = this.#entries.size;
      this.#entries.clear();
      return count;
    }
    const id = selector.id;
    return this.#removeWhere(selector.key, (e) => id === undefined || e.id === id);
  }

  async rememberMessageId(messageId: string, ttlMs: number): Promise<boolean> {
    if (this.#messageIds.has(messageId)) return false;
    this.#messageIds.set(messageId, true, { ttl: Math.max(1, ttlMs) });
    return true;
  }

  /** Every unexpired entry, oldest first: what the state file saves. */
  dump(): HeldMessage[] {
    const all: HeldMessage[] = [];
    for (const entry of this.#entries.rvalues()) if (entry !== undefined) all.push(stripSeq(entry));
    return all;
  }

  async forgetMessageId(messageId: string): Promise<void> {
    this.#messageIds.delete(messageId);
  }

  stats(): HeldStoreStats {
    return { held: this.#entries.size, droppedPerKey: this.#droppedPerKey, droppedTotal: this.#droppedTotal };
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#reportDrops();
  }

  #removeWhere(key: string, match: (entry: Entry) => boolean): number {
    const index = this.#byKey.get(key);
    if (index === undefined) return 0;
    let removed = 0;
    for (const seq of [...index]) {
      const entry = this.#entries.peek(seq);
      if (entry !== undefined && match(entry)) {
        this.#entries.delete(seq);
        removed++;
      }
    }
    return removed;
  }

  #forget(entry: Entry, seq: number, reason: LRUCache.DisposeReason): void {
    const index = this.#byKey.get(entry.key);
    if (index !== undefined) {
      index.delete(seq);
      if (index.size === 0) this.#byKey.delete(entry.key);
    }
    if (reason === 'evict') {
      this.#droppedTotal++;
      this.#noteDrop(entry.key);
    }
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

function stripSeq({ id, key, frame, createdAt, expiresAt }: Entry): HeldMessage {
  return { id, key, frame, createdAt, expiresAt };
}

/** Entries from several keys merged by insertion order; a message held for two of the keys once. */
function oldestFirstUnique(entries: Entry[]): HeldMessage[] {
  entries.sort((a, b) => a.seq - b.seq);
  const seen = new Set<string>();
  const out: HeldMessage[] = [];
  for (const entry of entries) {
    if (seen.has(entry.id)) continue;
    seen.add(entry.id);
    out.push(stripSeq(entry));
  }
  return out;
}
