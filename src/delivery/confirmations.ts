// Confirmations of in-flight messages: a node that wrote a bus message to its sockets of key K removes
// its in-flight record (HDEL <prefix>{K}:fly:<node> id), so the message is no longer recovered for it.
// Batched per key: collected during a tick and sent on the next (setImmediate), or at once past
// MAX_PENDING, on the command connection. Callers flush before a lease or join of this node: commands
// on one connection run in order, so Redis sees the confirmations first and does not promote (re-send
// or hold) a message this node already wrote.
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis/connect.js';
import type { Keyspace } from '../redis/keyspace.js';

export interface Confirmations {
  add(key: string, id: string): void;
  /** Sends every pending confirmation now. */
  flush(): void;
  close(): void;
}

export interface ConfirmationsOptions {
  readonly client: RedisClient;
  readonly keyspace: Keyspace;
  readonly node: string;
  readonly log: Logger;
}

/** Ids per batch: bounds the memory and the size of one HDEL. */
const MAX_PENDING = 1_000;

export function createConfirmations({ client, keyspace, node, log }: ConfirmationsOptions): Confirmations {
  let pending = new Map<string, string[]>();
  let size = 0;
  let scheduled: NodeJS.Immediate | undefined;

  const flush = (): void => {
    if (scheduled !== undefined) clearImmediate(scheduled);
    scheduled = undefined;
    if (size === 0) return;
    const batch = pending;
    pending = new Map();
    size = 0;
    for (const [key, ids] of batch) {
      // A failed confirmation costs a duplicate at worst: the message is recovered (re-sent or held)
      // as if this node had not written it.
      client.hdel(keyspace.fly(key, node), ...ids).catch((err: unknown) =>
        log.debug({ reason: (err as Error).message, ids: ids.length }, 'could not confirm delivered messages; they may be delivered again'));
    }
  };

  return {
    add(key, id) {
      const ids = pending.get(key);
      if (ids === undefined) pending.set(key, [id]);
      else ids.push(id);
      if (++size >= MAX_PENDING) flush();
      else scheduled ??= setImmediate(flush);
    },
    flush,
    close: flush,
  };
}
