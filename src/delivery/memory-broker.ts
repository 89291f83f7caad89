// The single-node broker: deliver-or-hold decided in one tick against this node's hub, so nothing
// can join in between. Its hot path is hub.deliver, one uWS topic publish for a single key.
import type { DeliveryMode } from '../config.js';
import type { Broker } from './broker.js';
import type { HeldStore } from './held-store.js';
import type { Hub } from './hub.js';
import type { Message } from './message.js';

export interface MemoryBrokerOptions {
  readonly hub: Hub;
  readonly store: HeldStore;
  readonly mode: DeliveryMode;
}

export function createMemoryBroker({ hub, store, mode }: MemoryBrokerOptions): Broker {
  const atLeastOnce = mode === 'at-least-once';

  const holdFor = async (message: Message, keys: readonly string[]): Promise<number> => {
    if (message.expireMs <= 0 || keys.length === 0) return 0;
    const { id, frame, createdAt } = message;
    await store.hold({ id, frame, createdAt, expiresAt: createdAt + message.expireMs }, keys);
    return keys.length;
  };

  return {
    async publish(message) {
      const { id, keys, frame } = message;
      if (atLeastOnce) {
        // Stored before it is written, so an acknowledgement can never arrive for an unknown id.
        const held = await holdFor(message, keys);
        return { id, delivered: hub.deliver(keys, id, frame), held };
      }
      const delivered = hub.deliver(keys, id, frame);
      const absent = delivered === 0 ? keys : keys.filter((key) => !hub.has(key));
      return { id, delivered, held: await holdFor(message, absent) };
    },
    join: (keys) => store.fetch(keys, !atLeastOnce),
    leave() {},
    onRecovered() {},
    unavailable: () => undefined,
    async close() {},
  };
}
