// History (Goctopus's WS_HISTORY_SIZE / WS_HISTORY_TTL): each key's most recent messages, delivered or
// not, for `GET /?key=K&history`. Separate from held messages: nothing is removed by delivery or
// acknowledgement; an entry goes when WS_HISTORY_SIZE newer ones push it out or it is older than
// WS_HISTORY_TTL. Topics too (their streams' history, for recovery), and each entry has its stream
// position (seq). In memory (one node, here) or in Redis (every node: redis-history.ts).
import { LRUCache } from 'lru-cache';
import type { Message } from './message.js';

export interface HistoryEntry {
  /** The stream's address (a key's, or a topic's: delivery/address.ts). */
  readonly key: string;
  /** Its position in the stream (docs/protocol.md, Recovery); 0 for an entry without one (kept by
   * a version before positions). */
  readonly seq: number;
  readonly id: string;
  readonly frame: string;
  readonly createdAt: number;
  /** The message's `expire` as posted (Message.expire): Goctopus's `exp`, as in the held listing. */
  readonly expire: string;
}

/** A stream's recent entries and its latest position (0: no message, or none for WS_HISTORY_TTL). */
export interface StreamHistory {
  readonly last: number;
  readonly entries: readonly HistoryEntry[];
}

export interface History {
  /** Records a message accepted for publishing, under each of its keys. */
  record(message: Message): Promise<void>;
  /** The key's entries no older than WS_HISTORY_TTL, oldest first. */
  list(key: string): Promise<HistoryEntry[]>;
  /** The stream's entries and latest position, for a recovery. Guarantee: a message of the stream
   * that is not in the answer (published later) reaches this node's hub after the answer is read,
   * and one that is in it reached the hub before the promise resolves; so a watcher (hub.watch)
   * started before the call sees, with the answer, every message of the stream. */
  read(address: string): Promise<StreamHistory>;
}

interface Stream {
  /** The stream's latest seq: survives its entries' trimming, not the stream's eviction. */
  last: number;
  readonly entries: HistoryEntry[];
}

export interface HistoryLimits {
  /** Entries kept per key. */
  readonly size: number;
  readonly ttlMs: number;
}

/** One node's history. Bounded: at most `maxKeys` keys (the least recently published to go first),
 * each at most `size` entries, each dropped after `ttlMs`. */
export class MemoryHistory implements History {
  readonly #limits: HistoryLimits;
  readonly #byKey: LRUCache<string, Stream>;

  /** `now`: the clock a new stream's positions start from (see recordSync). */
  constructor(limits: HistoryLimits, maxKeys: number, private readonly now: () => number = Date.now) {
    this.#limits = limits;
    this.#byKey = new LRUCache({ max: Math.max(1, maxKeys), ttl: limits.ttlMs, ttlAutopurge: false });
  }

  /** Synchronous, for the single-node publish that answers within its tick. Records the message in
   * the stream of each of its keys and topics, and returns its seq in each (aligned with
   * `[...keys, ...topics]`): one past the stream's last, so monotonic per stream in publish order. A
   * new stream (or one evicted: silent for WS_HISTORY_TTL, or pushed out by newer ones, or a node
   * restarted) starts at the clock in microseconds, so its positions are above any it had before
   * and a client's older position reads as a gap, never as one of the new stream's. */
  recordSync(message: Message): number[] {
    const { id, frame, createdAt, expire, topics } = message;
    const addresses = topics === undefined ? message.keys : [...message.keys, ...topics];
    const seqs: number[] = [];
    for (const key of addresses) {
      const stream = this.#fresh(key, createdAt) ?? { last: this.now() * 1000, entries: [] };
      const seq = ++stream.last;
      const { entries } = stream;
      entries.push({ key, seq, id, frame, createdAt, expire });
      if (entries.length > this.#limits.size) entries.splice(0, entries.length - this.#limits.size);
      this.#byKey.set(key, stream); // renews the key's own time to live: its newest entry is this one
      seqs.push(seq);
    }
    return seqs;
  }

  async record(message: Message): Promise<void> {
    this.recordSync(message);
  }

  async list(key: string): Promise<HistoryEntry[]> {
    return [...(this.#fresh(key, Date.now())?.entries ?? [])];
  }

  /** Read in the caller's tick: on one node, the publish that records is the one that delivers. */
  async read(address: string): Promise<StreamHistory> {
    const stream = this.#fresh(address, Date.now());
    return stream === undefined ? { last: 0, entries: [] } : { last: stream.last, entries: [...stream.entries] };
  }

  #fresh(key: string, now: number): Stream | undefined {
    const stream = this.#byKey.get(key, { updateAgeOnGet: false });
    if (stream === undefined) return undefined;
    const { entries } = stream;
    const cutoff = now - this.#limits.ttlMs;
    let old = 0;
    while (old < entries.length && (entries[old] as HistoryEntry).createdAt <= cutoff) old++;
    if (old > 0) entries.splice(0, old);
    return stream;
  }
}
