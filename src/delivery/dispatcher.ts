// The dispatcher: publishes through the broker (deliver or hold), brings a connecting socket its held
// messages before live ones, and applies acknowledgements and message_id idempotency.
import type { DeliveryMode } from '../config.js';
import type { Logger } from '../log.js';
import type { Broker } from './broker.js';
import type { HeldMessage, HeldStore } from './held-store.js';
import { MemoryHistory, type History } from './history.js';
import type { Hub } from './hub.js';
import { connectionId, type Socket } from '../socket/connection.js';
import type { Message, PublishResult } from './message.js';
import { messageIdAddress, parseAddress } from './address.js';
import { splitHeld } from './conditions.js';
import { recoverKeys } from './recovery.js';

export interface Dispatcher {
  /** Resolves once the message is written to the open sockets of its keys and stored for the
   * others (at-most-once) or for all of them (at-least-once). Rejects, having stored nothing it
   * reports, when the store fails. */
  publish(message: Message): Promise<PublishResult>;
  /** publish done within the caller's tick, with no promise, when that is possible: the broker has
   * publishNow (memory) and the message has no message_id (remembering one is the store's
   * asynchronous call). Otherwise returns undefined having done nothing, and the caller uses
   * publish. Throws where publish would reject. */
  publishNow(message: Message): PublishResult | undefined;
  /** Called from the socket's open handler, after it is registered with nothing sent yet. */
  connect(ws: Socket): void;
  /** A socket closed (called from its close handler, whoever closed it). */
  closed(ws: Socket): void;
  /** A socket replied `{"id": …}`. Returns false, applying nothing, when the socket already has
   * maxAcksInFlight acknowledgements waiting for the store: the caller closes it. */
  acknowledge(ws: Socket, id: string): boolean;
}

export interface DispatcherOptions {
  readonly hub: Hub;
  readonly store: HeldStore;
  readonly broker: Broker;
  readonly mode: DeliveryMode;
  /** How long a message_id is remembered when its message is never held (expire "0"). */
  readonly defaultIdempotencyTtlMs: number;
  /** Acknowledgements of one socket waiting for the store at once; each is an async store call
   * holding memory until answered, so a flood of them must not grow without bound. */
  readonly maxAcksInFlight: number;
  /** WS_HISTORY_SIZE > 0: every accepted message is recorded, after it is delivered or held. */
  readonly history?: History | undefined;
  readonly log: Logger;
}

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { hub, store, broker, mode, defaultIdempotencyTtlMs, maxAcksInFlight, history, log } = options;
  const recordNow = history instanceof MemoryHistory ? history : undefined;
  /** On one node the history numbers the message (its seq per address) before it is delivered, so
   * live frames and the history agree; over Redis the publish scripts do both at once. */
  const numbered = (m: Message): Message => {
    if (recordNow === undefined) return m;
    const seqs = recordNow.recordSync(m);
    // A literal, not a spread (measured: a spread cost about 1 µs a publish), one shape for all.
    return {
      id: m.id, keys: m.keys, topics: m.topics, from: m.from, exclude: m.exclude, frame: m.frame, createdAt: m.createdAt,
      expireMs: m.expireMs, expire: m.expire, idempotent: m.idempotent, seqs,
    };
  };

  const publishAndRecord = async (message: Message): Promise<PublishResult> => {
    if (recordNow !== undefined) return broker.publish(numbered(message));
    const result = await broker.publish(message);
    // The message is delivered or held already: a history that fails must not turn that into a 503.
    if (history !== undefined) await history.record(message).catch((err: unknown) => log.warn({ err }, 'could not record a message in the history'));
    return result;
  };
  const atLeastOnce = mode === 'at-least-once';

  const putBack = (held: readonly HeldMessage[]): void => {
    for (const m of held) {
      store.hold(m, [m.key]).catch((err: unknown) => log.error({ err, key: m.key }, 'could not re-hold messages of a socket that closed'));
    }
  };

  const sync = (ws: Socket, fresh: boolean): void => {
    const data = ws.getUserData();
    // The latest join wins: one started after Redis came back supersedes an older one.
    const attempt = ++data.syncAttempt;
    // A v2 socket's keys with `since` in its connect URL: once, on its first sync.
    const native = fresh && history !== undefined ? hub.nativeOf(ws) : undefined;
    const since = native?.since;
    if (native !== undefined) native.since = undefined;
    const done = (held: HeldMessage[]): void => {
      // A held message whose filter this socket does not match stays held for the others: put
      // back (in at-most-once, where the fetch took it) with its expiry, in order.
      const { admitted, refused } = splitHeld(held, data);
      const write = since === undefined || history === undefined ? Promise.resolve(admitted) : recoverKeys({ hub, history, log }, ws, since, admitted);
      return void write.then((messages) => {
        if (data.syncAttempt === attempt && hub.goLive(ws, messages)) {
          if (!atLeastOnce && refused.length > 0) putBack(refused);
          log.debug({ conn: connectionId(data), held: admitted.length }, 'socket synced');
          return;
        }
        // Closed (or superseded) before anything was written: put the taken messages back for the next socket.
        if (!atLeastOnce && held.length > 0) putBack(held);
      }, failed);
    };
    const failed = (err: unknown): void => {
      if (data.syncAttempt !== attempt) return;
      log.warn({ err, conn: connectionId(data) }, 'could not fetch held messages; the socket gets live messages only until the store is back');
      hub.goLive(ws, []);
    };
    broker.join(data.keys, fresh).then(done, failed);
  };

  broker.onRecovered(() => {
    for (const ws of hub.sockets()) {
      hub.resync(ws);
      sync(ws, false);
    }
  });

  return {
    async publish(message) {
      if (message.idempotent) {
        const ttl = message.expireMs > 0 ? message.expireMs : defaultIdempotencyTtlMs;
        const remembered = messageIdOf(message);
        if (!(await store.rememberMessageId(remembered, ttl))) {
          return { id: message.id, delivered: 0, held: 0, duplicate: true };
        }
        try {
          return await publishAndRecord(message);
        } catch (err) {
          await store.forgetMessageId(remembered).catch(() => undefined); // the store is down: it has nothing to forget
          throw err;
        }
      }
      return publishAndRecord(message);
    },

    publishNow(message) {
      if (broker.publishNow === undefined || message.idempotent || (history !== undefined && recordNow === undefined)) return undefined;
      return broker.publishNow(recordNow === undefined ? message : numbered(message));
    },

    connect(ws) {
      hub.add(ws);
      sync(ws, true);
    },

    closed(ws) {
      hub.remove(ws);
      broker.leave(ws.getUserData().keys);
    },

    acknowledge(ws, id) {
      if (!atLeastOnce) return true;
      const data = ws.getUserData();
      if (data.acksInFlight >= maxAcksInFlight) return false;
      data.acksInFlight++;
      // A pattern socket's message is held under the key it was published to, which the hub
      // remembers for what it wrote to pattern sockets: no store search per acknowledgement.
      const extra = hub.patternKeysOf(ws, id);
      const keys = extra.length === 0 ? data.keys : [...new Set([...data.keys, ...extra])];
      store.ack(keys, id).then(
        () => { data.acksInFlight--; },
        (err: unknown) => {
          data.acksInFlight--;
          log.error({ err }, 'could not apply an acknowledgement');
        },
      );
      return true;
    },
  };
}

/** The message_id as remembered: within the app of the message's addresses (one publish never
 * mixes apps), whether it has keys or topics only. */
function messageIdOf(message: Message): string {
  const first = message.keys[0] ?? message.topics?.[0];
  return first === undefined ? message.id : messageIdAddress(parseAddress(first).app, message.id);
}
