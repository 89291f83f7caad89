// The history shared by every node (delivery/history.ts): per stream (key or topic) a Redis LIST
// `<prefix>{K}:hist` of "createdAt/expire:expireMs#seq:idLength:id frame" and its last position in
// `<prefix>{K}:pos`. The publish scripts write both, in the same step as the decision and the bus
// message (lua-library.ts, position), so a stream's positions follow the bus's order; this module
// reads them. (As held entries, the posted `expire` rides after a '/' in the first field; entries of
// versions before positions have no "#seq", and those before `expire` no '/'.)
import type { RedisClient } from '../redis/connect.js';
import type { Keyspace } from '../redis/keyspace.js';
import type { History, HistoryEntry, HistoryLimits, StreamHistory } from './history.js';
import type { Message } from './message.js';
import { stampOf, unavailableOnError } from './redis-store.js';
import { formatDuration } from '../units.js';

/** The scripts' history arguments for a message: size, ttl, the entry's head and tail. */
export function historyArgs(limits: HistoryLimits, message: Message): Array<string | number> {
  const { id, createdAt, expire, expireMs } = message;
  return [limits.size, Math.max(1, Math.ceil(limits.ttlMs)), `${stampOf(createdAt, expire)}:${expireMs}`, `:${id.length}:${id}`];
}

export class RedisHistory implements History {
  constructor(
    private readonly client: RedisClient,
    /** The bus connection: a PING on it fences a read (see read). */
    private readonly subscriber: RedisClient,
    private readonly keyspace: Keyspace,
    private readonly limits: HistoryLimits,
  ) {}

  /** Nothing to do: the publish scripts record (see the header). */
  async record(): Promise<void> {}

  async list(key: string): Promise<HistoryEntry[]> {
    return this.#parse(key, await unavailableOnError(this.client.lrange(this.keyspace.history(key), 0, -1)));
  }

  /** The list and the counter in one MULTI (one slot), then a PING on the bus connection: Redis
   * writes a bus message to it before the answer to a later command, so once the PONG is read,
   * every message recorded before the read has reached this node's hub (and any not recorded then
   * is published after it). */
  async read(address: string): Promise<StreamHistory> {
    const replies = await unavailableOnError(this.client.multi().lrange(this.keyspace.history(address), 0, -1).get(this.keyspace.position(address)).exec());
    const [list, pos] = replies ?? [];
    if (list?.[0] || pos?.[0]) throw list?.[0] ?? pos?.[0];
    const entries = this.#parse(address, list?.[1] as string[]);
    await unavailableOnError(this.subscriber.ping());
    return { last: Number(pos?.[1] ?? 0), entries };
  }

  #parse(key: string, raw: readonly string[]): HistoryEntry[] {
    const cutoff = Date.now() - this.limits.ttlMs;
    const out: HistoryEntry[] = [];
    for (const value of raw) {
      const a = value.indexOf(':');
      const b = value.indexOf(':', a + 1);
      const c = value.indexOf(':', b + 1);
      const slash = value.lastIndexOf('/', a);
      const createdAt = Number(value.slice(0, slash < 0 ? a : slash));
      if (createdAt <= cutoff) continue;
      const hash = value.indexOf('#', a);
      const positioned = hash >= 0 && hash < b;
      const expire = slash < 0 ? formatDuration(Number(value.slice(a + 1, positioned ? hash : b))) : value.slice(slash + 1, a);
      const idEnd = c + 1 + Number(value.slice(b + 1, c));
      out.push({ key, seq: positioned ? Number(value.slice(hash + 1, b)) : 0, createdAt, expire, id: value.slice(c + 1, idEnd), frame: value.slice(idEnd) });
    }
    return out;
  }
}
