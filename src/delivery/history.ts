// History (Goctopus's WS_HISTORY_SIZE / WS_HISTORY_TTL): each key's most recent messages, delivered or
// not, for `GET /?key=K&history`. Separate from held messages: nothing is removed by delivery or
// acknowledgement; an entry goes when WS_HISTORY_SIZE newer ones push it out or it is older than
// WS_HISTORY_TTL. In memory (one node) or in Redis (every node, one capped list per key).
import { LRUCache } from 'lru-cache';
import type { RedisClient } from '../redis/connect.js';
import type { Keyspace } from '../redis/keyspace.js';
import { RECORD, run } from '../redis/scripts.js';
import type { Message } from './message.js';
import { stampOf, unavailableOnError } from './redis-store.js';
import { formatDuration } from '../units.js';

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

  constructor(limits: HistoryLimits, maxKeys: number) {
    this.#limits = limits;
    this.#byKey = new LRUCache({ max: Math.max(1, maxKeys), ttl: limits.ttlMs, ttlAutopurge: false });
  }

  /** Synchronous, for the single-node publish that answers within its tick. Records the message in
   * the stream of each of its keys and topics, and returns its seq in each (aligned with
   * `[...keys, ...topics]`): one past the stream's last, so monotonic per stream in publish order. */
  recordSync(message: Message): number[] {
    const { id, frame, createdAt, expire, topics } = message;
    const addresses = topics === undefined ? message.keys : [...message.keys, ...topics];
    const seqs: number[] = [];
    for (const key of addresses) {
      const stream = this.#fresh(key, createdAt) ?? { last: 0, entries: [] };
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

/** History shared by every node: per key a Redis LIST `<prefix>{K}:hist` of
 * "createdAt/expire:expireMs:idLength:id frame" (as held entries, the posted `expire` rides after a
 * '/' in the first field, which it can never contain; entries of versions before it have none and
 * show expireMs as a duration), trimmed to `size` and expiring `ttlMs` after its newest entry (so Redis reclaims quiet keys). */
export class RedisHistory implements History {
  constructor(
    private readonly client: RedisClient,
    private readonly keyspace: Keyspace,
    private readonly limits: HistoryLimits,
    /** Redis Cluster: one call per key, whose list lives in its own slot. */
    private readonly cluster: boolean,
  ) {}

  async record(message: Message): Promise<void> {
    const { id, keys, frame, createdAt, expireMs, expire } = message;
    if (keys.length === 0) return; // topics only: live streams, not recorded here
    const groups = this.cluster ? keys.map((k) => [k]) : [keys];
    await unavailableOnError(Promise.all(groups.map((group) => run(this.client, RECORD, group.map((k) => this.keyspace.history(k)),
      [`${stampOf(createdAt, expire)}:${expireMs}:${id.length}:${id}${frame}`, this.limits.size, this.limits.ttlMs]))));
  }

  async read(address: string): Promise<StreamHistory> {
    const entries = await this.list(address);
    return { last: entries.at(-1)?.seq ?? 0, entries };
  }

  async list(key: string): Promise<HistoryEntry[]> {
    const raw = await unavailableOnError(this.client.lrange(this.keyspace.history(key), 0, -1));
    const cutoff = Date.now() - this.limits.ttlMs;
    const out: HistoryEntry[] = [];
    for (const value of raw) {
      const a = value.indexOf(':');
      const b = value.indexOf(':', a + 1);
      const c = value.indexOf(':', b + 1);
      const slash = value.lastIndexOf('/', a);
      const createdAt = Number(value.slice(0, slash < 0 ? a : slash));
      if (createdAt <= cutoff) continue;
      const expire = slash < 0 ? formatDuration(Number(value.slice(a + 1, b))) : value.slice(slash + 1, a);
      const idEnd = c + 1 + Number(value.slice(b + 1, c));
      out.push({ key, seq: 0, createdAt, expire, id: value.slice(c + 1, idEnd), frame: value.slice(idEnd) });
    }
    return out;
  }
}
