// The single-node broker: deliver-or-hold decided in one tick against this node's hub, so nothing
// can join in between. Its hot path is hub.deliver, one uWS topic publish for a single key; it
// runs synchronously (publishNow), so a POST is answered with no promise allocated.
import type { DeliveryMode } from '../config.js';
import type { Broker } from './broker.js';
import type { Hub } from './hub.js';
import { isPattern } from './key-pattern.js';
import { isConditioned } from './conditions.js';
import type { MemoryStore } from './memory-store.js';
import type { Message, PublishResult } from './message.js';

export interface MemoryBrokerOptions {
  readonly hub: Hub;
  /** The memory store, for its synchronous holdSync. */
  readonly store: MemoryStore;
  readonly mode: DeliveryMode;
}

export function createMemoryBroker({ hub, store, mode }: MemoryBrokerOptions): Broker {
  const atLeastOnce = mode === 'at-least-once';

  const holdFor = (message: Message, keys: readonly string[]): number => {
    if (message.expireMs <= 0 || keys.length === 0) return 0;
    const { id, frame, createdAt, expire } = message;
    store.holdSync({ id, frame, createdAt, expiresAt: createdAt + message.expireMs, expire }, keys);
    return keys.length;
  };

  /** Keys and topics together, so a socket under both gets the message once; held for keys only. */
  const publishWithTopics = (message: Message, topics: readonly string[]): PublishResult => {
    const { id, keys, frame } = message;
    const addresses = keys.length === 0 ? topics : [...keys, ...topics];
    if (atLeastOnce) {
      const held = holdFor(message, keys);
      return { id, delivered: hub.deliver(addresses, id, frame, message.from, message.exclude, message.seqs), held };
    }
    const delivered = hub.deliver(addresses, id, frame, message.from, message.exclude, message.seqs);
    return { id, delivered, held: holdFor(message, keys.filter((key) => !hub.has(key))) };
  };

  const publishNow = (message: Message): PublishResult => {
    if (message.topics !== undefined) return publishWithTopics(message, message.topics);
    const { id, keys, frame } = message;
    if (atLeastOnce) {
      // Stored before it is written, so an acknowledgement can never arrive for an unknown id.
      const held = holdFor(message, keys);
      return { id, delivered: hub.deliver(keys, id, frame, undefined, undefined, message.seqs), held };
    }
    // History off, the hot path: seqs is absent (undefined), so this is hub.deliver(keys, id, frame).
    const delivered = hub.deliver(keys, id, frame, undefined, undefined, message.seqs);
    // None written: none open, unless a filter or exclude_connection (conditions.ts) left out the
    // open ones, which hold nothing (as with Redis: held only where no socket is present).
    if (delivered === 0) return { id, delivered, held: holdFor(message, isConditioned(frame) ? keys.filter((key) => !hub.has(key)) : keys) };
    if (keys.length === 1) return { id, delivered, held: 0 }; // its one key has a socket: nothing to hold
    return { id, delivered, held: holdFor(message, keys.filter((key) => !hub.has(key))) };
  };

  return {
    publishNow,
    // Only for messages with a message_id, after the dispatcher's (awaited) idempotency check.
    publish: async (message) => publishNow(message),
    join: async (keys) => {
      // A pattern socket also gets what is held for every key its patterns match, oldest first.
      const patterns = keys.filter(isPattern);
      const all = patterns.length === 0 ? keys : [...new Set([...keys, ...store.heldKeysMatchingSync(patterns)])];
      return store.fetchSync(all, !atLeastOnce);
    },
    leave() {},
    onRecovered() {},
    unavailable: () => undefined,
    async close() {},
  };
}
