// The held-message store in Redis, shared by every node: per routing key a ZSET by delivery order,
// a ZSET by expiry and a HASH of the messages, all under one hash tag (see redis/keyspace.ts).
// Expired messages are pruned on every access and Redis expires a key's structures with its last
// message. WS_MAX_HELD_PER_KEY is enforced here; WS_MAX_HELD is not (counting across Cluster slots
// is not cheap): Redis's maxmemory and its eviction policy bound the total.
import { Cluster, type Redis } from 'ioredis';
import { OctowayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis/connect.js';
import type { Keyspace } from '../redis/keyspace.js';
import { ACK, CLEAR, FETCH, HOLD, INDEXED, PRESENCE, REAP, run } from '../redis/scripts.js';
import type { HeldMessage, HeldStore, HeldStoreStats } from './held-store.js';
import { expireOfTimes } from './message.js';
import { compilePattern, literalPrefix } from './key-pattern.js';

export interface RedisStoreOptions {
  readonly client: RedisClient;
  readonly keyspace: Keyspace;
  /** Redis Cluster: one script call per routing key, since keys of other slots cannot be combined. */
  readonly cluster: boolean;
  readonly maxHeldPerKey: number;
}

const DROP_LOG_INTERVAL_MS = 60_000;
/** Keys reaped at once by the admin listing. */
const REAP_BATCH = 100;

export class RedisStore implements HeldStore {
  readonly #client: RedisClient;
  readonly #keyspace: Keyspace;
  readonly #cluster: boolean;
  readonly #maxPerKey: number;
  readonly #drops: DropLog;

  constructor(options: RedisStoreOptions, log: Logger) {
    this.#client = options.client;
    this.#keyspace = options.keyspace;
    this.#cluster = options.cluster;
    this.#maxPerKey = options.maxHeldPerKey;
    this.#drops = new DropLog(log);
  }

  get maxPerKey(): number {
    return this.#maxPerKey;
  }

  /** The prefix the scripts use for the pattern registry and held-key index: '' under Cluster,
   * where a script cannot reach keys outside its routing key's slot. */
  get scriptPrefix(): string {
    return this.#cluster ? '' : this.#keyspace.prefix;
  }

  /** Per routing key under Cluster, all together on one server (one atomic call). */
  groups(keys: readonly string[]): ReadonlyArray<readonly string[]> {
    return this.#cluster ? keys.map((k) => [k]) : [keys];
  }

  /** Counts drops past the per-key bound reported by any script, logged once a minute per key. */
  noteDropped(keys: readonly string[], dropped: number): void {
    if (dropped > 0) this.#drops.note(keys, dropped);
  }

  async hold(message: Omit<HeldMessage, 'key'>, keys: readonly string[]): Promise<void> {
    const { id, createdAt, expiresAt, frame, expire } = message;
    await unavailableOnError(Promise.all(this.groups(keys).map(async (group) => {
      const dropped = await run(this.#client, HOLD, group.flatMap((k) => this.#keyspace.held(k)),
        [id, stampOf(createdAt, expire), expiresAt, frame, Date.now(), this.#maxPerKey, this.scriptPrefix]);
      this.noteDropped(group, Number(dropped));
    })));
  }

  async fetch(keys: readonly string[], remove: boolean): Promise<HeldMessage[]> {
    return mergeHeld(await this.fetchPerKey(keys, remove));
  }

  /** fetch's script replies per key, for mergeHeld (the broker merges them with its join's). */
  async fetchPerKey(keys: readonly string[], remove: boolean): Promise<Array<{ key: string; flat: string[] }>> {
    const replies = await unavailableOnError(Promise.all(this.groups(keys).map(async (group) => {
      const perKey = await run(this.#client, FETCH, group.flatMap((k) => this.#keyspace.all(k)),
        [Date.now(), remove ? 1 : 0, this.#keyspace.channel, this.#maxPerKey, this.scriptPrefix]);
      return { group, perKey: perKey as string[][] };
    })));
    return replies.flatMap(({ group, perKey }) => group.map((key, i) => ({ key, flat: perKey[i] ?? [] })));
  }

  /** Single server: the held-key index, read by each pattern's literal prefix (ZRANGEBYLEX: log N
   * plus the keys under that prefix), after completing it by one SCAN if the first pattern of the
   * registry has just appeared (messages held before were not indexed). Cluster: a SCAN of every
   * master for the seq sets under the literal prefix, which costs a pass over the keyspace per
   * pattern socket that connects: patterns with Cluster suit a few long-lived sockets. */
  async heldKeysMatching(patterns: readonly string[]): Promise<string[]> {
    const matchers = patterns.map(compilePattern);
    const keyspace = this.#keyspace;
    const client = this.#client as Redis;
    const names = new Set<string>();
    const registered = this.#cluster ? 0 : await unavailableOnError(client.scard(keyspace.patterns));
    if (registered === 0) {
      // Cluster, or no pattern registered (a caller that did not join): no index is kept, so scan.
      for (const p of patterns) for (const name of await unavailableOnError(this.#scan(keyspace.seqPatternFrom(literalPrefix(p))))) names.add(name);
    } else {
      const partial = await unavailableOnError(client.get(keyspace.heldIndexPartial));
      if (partial !== null) await this.#completeIndex(partial);
      for (const p of patterns) {
        const [from, to] = keyspace.heldIndexRange(literalPrefix(p));
        for (const name of await unavailableOnError(client.zrangebylexBuffer(keyspace.heldIndex, from, to))) names.add(name.toString());
      }
    }
    return [...names].map((name) => keyspace.keyOfSeq(name)).filter((key) => matchers.some((m) => m(key)));
  }

  /** Adds every key with held messages to the index, once after the registry's first pattern
   * appeared (what was held before was not indexed); concurrent joins may each do it, harmlessly. */
  async #completeIndex(mark: string): Promise<void> {
    const client = this.#client as Redis;
    const all = await unavailableOnError(this.#scan(this.#keyspace.seqPattern));
    for (let i = 0; i < all.length; i += 500) {
      await unavailableOnError(client.zadd(this.#keyspace.heldIndex, ...all.slice(i, i + 500).flatMap((name) => [0, name])));
    }
    await unavailableOnError(run(client, INDEXED, [], [this.#keyspace.prefix, mark]));
  }

  /** Open sockets per key or pattern, cluster-wide (live leases only): one SCAN of the presence
   * hashes, then one read-only script per batch. For the admin API, never a hot path. */
  async presence(): Promise<Map<string, number>> {
    const keys = (await unavailableOnError(this.#scan(this.#keyspace.socksPattern))).map((name) => this.#keyspace.keyOfSocks(name));
    const out = new Map<string, number>();
    const batches = this.#cluster ? keys.map((k) => [k]) : chunk(keys, REAP_BATCH);
    const counts = await unavailableOnError(Promise.all(batches.map((batch) =>
      run(this.#client, PRESENCE, batch.flatMap((k) => { const n = this.#keyspace.of(k); return [n.nodes, n.socks]; }), []))));
    batches.forEach((batch, b) => batch.forEach((key, i) => {
      const n = Number((counts[b] as number[])[i] ?? 0);
      if (n > 0) out.set(key, n);
    }));
    return out;
  }

  async ack(keys: readonly string[], id: string): Promise<number> {
    const counts = await unavailableOnError(Promise.all(this.groups(keys).map((group) =>
      run(this.#client, ACK, group.flatMap((k) => this.#keyspace.held(k)), [id]))));
    return counts.reduce<number>((sum, n) => sum + Number(n), 0);
  }

  async keys(): Promise<Array<{ key: string; count: number }>> {
    // Keys with messages in flight may have them in flight to a dead node: those are promoted first,
    // so the listing shows what a socket of the key would get. In-flight records are few (confirmed
    // within a tick), so this costs little; done REAP_BATCH keys at a time all the same.
    const flying = new Set((await unavailableOnError(this.#scan(this.#keyspace.flyPattern))).map((name) => this.#keyspace.keyOfFly(name)));
    const now = Date.now();
    const keys = [...flying];
    for (let i = 0; i < keys.length; i += REAP_BATCH) {
      await unavailableOnError(Promise.all(keys.slice(i, i + REAP_BATCH).map((key) =>
        run(this.#client, REAP, this.#keyspace.all(key), [now, this.#keyspace.channel, this.#maxPerKey, this.scriptPrefix]))));
    }
    const held = (await unavailableOnError(this.#scan(this.#keyspace.seqPattern))).map((name) => this.#keyspace.keyOfSeq(name));
    const counts = await unavailableOnError(Promise.all(held.map((key) => this.#client.zcount(this.#keyspace.of(key).exp, `(${now}`, '+inf'))));
    const out: Array<{ key: string; count: number }> = [];
    held.forEach((key, i) => {
      const count = counts[i] ?? 0;
      if (count > 0) out.push({ key, count });
    });
    return out;
  }

  async list(key: string): Promise<HeldMessage[]> {
    return this.fetch([key], false);
  }

  async remove(selector: { key?: string; id?: string }): Promise<number> {
    if (selector.key !== undefined && selector.id !== undefined) return this.ack([selector.key], selector.id);
    const keys = selector.key !== undefined
      ? [selector.key]
      : (await unavailableOnError(this.#scan(this.#keyspace.seqPattern))).map((name) => this.#keyspace.keyOfSeq(name));
    const now = Date.now();
    const counts = await unavailableOnError(Promise.all(keys.map((k) => run(this.#client, CLEAR, this.#keyspace.held(k), [now]))));
    return counts.reduce<number>((sum, n) => sum + Number(n), 0);
  }

  async rememberMessageId(messageId: string, ttlMs: number): Promise<boolean> {
    const set = await unavailableOnError(this.#client.set(this.#keyspace.messageId(messageId), '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'));
    return set === 'OK';
  }

  async forgetMessageId(messageId: string): Promise<void> {
    await unavailableOnError(this.#client.del(this.#keyspace.messageId(messageId)));
  }

  /** `held` is not counted in Redis (see the header): -1. */
  stats(): HeldStoreStats {
    return { held: -1, droppedPerKey: this.#drops.total, droppedTotal: 0 };
  }

  async close(): Promise<void> {
    this.#drops.close();
  }

  /** The names matching a keyspace pattern, from every master under Cluster. */
  async #scan(match: string): Promise<string[]> {
    const servers: Redis[] = this.#client instanceof Cluster ? this.#client.nodes('master') : [this.#client];
    const names = new Set<string>();
    for (const server of servers) {
      const stream = server.scanStream({ match, count: 1000 });
      for await (const batch of stream) for (const name of batch as string[]) names.add(name);
    }
    return [...names];
  }
}

/** The `createdAt` field the scripts store (see keyspace.ts): "createdAt/expire". The scripts only
 * copy it, never read it as a number, so Goctopus's `exp` travels with the message (held, in flight,
 * promoted) without a second field; a duration's text never holds ':' or '/'. */
export function stampOf(createdAt: number, expire: string): string {
  return `${createdAt}/${expire}`;
}

/** Entries of several keys, oldest first by their order scores (which keep each key's publish
 * order), each message once. `flat` is a script's [id, order, "createdAt/expire:expiresAt:frame", …]
 * ("createdAt" alone from versions before `expire` was kept). */
export function mergeHeld(perKey: ReadonlyArray<{ key: string; flat: readonly string[] }>): HeldMessage[] {
  const entries: Array<{ order: number; message: HeldMessage }> = [];
  for (const { key, flat } of perKey) {
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const value = flat[i + 2] as string;
      const first = value.indexOf(':');
      const second = value.indexOf(':', first + 1);
      const slash = value.lastIndexOf('/', first);
      const createdAt = Number(value.slice(0, slash < 0 ? first : slash));
      const expiresAt = Number(value.slice(first + 1, second));
      entries.push({
        order: Number(flat[i + 1]),
        message: {
          id: flat[i] as string,
          key,
          createdAt,
          expiresAt,
          frame: value.slice(second + 1),
          expire: slash < 0 ? expireOfTimes(createdAt, expiresAt) : value.slice(slash + 1, first),
        },
      });
    }
  }
  if (perKey.length > 1) entries.sort((a, b) => a.order - b.order);
  const seen = new Set<string>();
  const out: HeldMessage[] = [];
  for (const { message } of entries) {
    if (seen.has(message.id)) continue;
    seen.add(message.id);
    out.push(message);
  }
  return out;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Any Redis failure becomes STORE_UNAVAILABLE: the publisher gets 503, never a 202 for it. */
export async function unavailableOnError<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw new OctowayError('STORE_UNAVAILABLE', undefined, { cause: err, retryAfter: 1 });
  }
}

/** Drops past WS_MAX_HELD_PER_KEY, logged once per key per minute rather than per drop. */
class DropLog {
  readonly #pending = new Map<string, number>();
  readonly #timer: NodeJS.Timeout;
  total = 0;

  constructor(private readonly log: Logger) {
    this.#timer = setInterval(() => this.flush(), DROP_LOG_INTERVAL_MS);
    this.#timer.unref();
  }

  note(keys: readonly string[], dropped: number): void {
    this.total += dropped;
    // A script reports one total for its keys: attributed to the first, which is what the log names.
    const key = keys[0] as string;
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + dropped);
  }

  flush(): void {
    for (const [key, dropped] of this.#pending) this.log.warn({ key, dropped }, 'held messages dropped: WS_MAX_HELD_PER_KEY reached');
    this.#pending.clear();
  }

  close(): void {
    clearInterval(this.#timer);
    this.flush();
  }
}
