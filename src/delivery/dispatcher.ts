// The dispatcher: decides deliver-or-hold for each published message, brings a connecting socket
// its held messages before live ones, and applies acknowledgements. Delivery semantics live here.
import type { DeliveryMode } from '../config.js';
import type { Logger } from '../log.js';
import type { HeldStore } from './held-store.js';
import type { Hub, Socket } from './hub.js';
import type { Message, PublishResult } from './message.js';

export interface Dispatcher {
  /** Resolves once the message is written to the open sockets of its keys and stored for the
   * others (at-most-once) or for all of them (at-least-once). Rejects, having stored nothing it
   * reports, when the store fails. */
  publish(message: Message): Promise<PublishResult>;
  /** Called from the socket's open handler, after it is registered with nothing sent yet. */
  connect(ws: Socket): void;
  /** Called from the socket's close handler. */
  disconnect(ws: Socket): void;
  /** A socket replied `{"id": …}`. */
  acknowledge(ws: Socket, id: string): void;
}

export interface DispatcherOptions {
  readonly hub: Hub;
  readonly store: HeldStore;
  readonly mode: DeliveryMode;
  /** How long a message_id is remembered when its message is never held (expire "0"). */
  readonly defaultIdempotencyTtlMs: number;
  readonly log: Logger;
}

export function createDispatcher({ hub, store, mode, defaultIdempotencyTtlMs, log }: DispatcherOptions): Dispatcher {
  const atLeastOnce = mode === 'at-least-once';

  const holdFor = async (message: Message, keys: readonly string[]): Promise<number> => {
    if (message.expireMs <= 0 || keys.length === 0) return 0;
    const { id, frame, createdAt } = message;
    await store.hold({ id, frame, createdAt, expiresAt: createdAt + message.expireMs }, keys);
    return keys.length;
  };

  const route = async (message: Message): Promise<PublishResult> => {
    const { id, keys, frame } = message;
    if (atLeastOnce) {
      // Stored before it is written, so an acknowledgement can never arrive for an unknown id.
      const held = await holdFor(message, keys);
      return { id, delivered: hub.deliver(keys, id, frame), held };
    }
    const delivered = hub.deliver(keys, id, frame);
    const absent = delivered === 0 ? keys : keys.filter((key) => !hub.has(key));
    return { id, delivered, held: await holdFor(message, absent) };
  };

  return {
    async publish(message) {
      if (message.idempotent) {
        const ttl = message.expireMs > 0 ? message.expireMs : defaultIdempotencyTtlMs;
        if (!(await store.rememberMessageId(message.id, ttl))) {
          return { id: message.id, delivered: 0, held: 0, duplicate: true };
        }
        try {
          return await route(message);
        } catch (err) {
          await store.forgetMessageId(message.id).catch(() => undefined); // the store is down: it has nothing to forget
          throw err;
        }
      }
      return route(message);
    },

    connect(ws) {
      hub.add(ws);
      const data = ws.getUserData();
      store.fetch(data.keys, !atLeastOnce).then(
        (held) => {
          if (hub.goLive(ws, held) || atLeastOnce || held.length === 0) return;
          // Closed before anything was written: put the taken messages back for the next socket.
          for (const m of held) {
            store.hold(m, [m.key]).catch((err: unknown) => log.error({ err, key: m.key }, 'could not re-hold messages of a socket that closed'));
          }
        },
        (err: unknown) => {
          log.error({ err, conn: data.conn }, 'could not fetch held messages; the socket gets live messages only');
          hub.goLive(ws, []);
        },
      );
    },

    disconnect(ws) {
      hub.remove(ws);
    },

    acknowledge(ws, id) {
      if (!atLeastOnce) return;
      store.ack(ws.getUserData().keys, id).catch((err: unknown) => log.error({ err }, 'could not apply an acknowledgement'));
    },
  };
}
