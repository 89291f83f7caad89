// The broker: how a published message reaches the sockets of its keys and how an opening socket gets
// its held messages. On one node in memory (memory-broker.ts) or on every node through Redis
// (redis-broker.ts); the dispatcher uses either through this contract.
import type { HeldMessage } from './held-store.js';
import type { Message, PublishResult } from './message.js';

export interface Broker {
  /** Writes the message to the open sockets of its keys (through each node's hub, in publish order
   * per key) and holds it for the keys with none, or for every key in at-least-once. The decision is
   * atomic per key with join: a message is either held before a socket's join (and returned by it)
   * or delivered to that socket live, never both in at-most-once, never neither. Across nodes, a
   * message sent to a node's sockets stays recoverable until that node has written it: if the node
   * dies or leaves the key first, it is re-sent or held (never lost; once, unless the node wrote it
   * just before dying). Rejects with STORE_UNAVAILABLE when it could not be sure the message was
   * stored or sent. */
  publish(message: Message): Promise<PublishResult>;
  /** Present only on a broker that can decide and write within the caller's tick (the memory
   * broker): the same as publish, with the same guarantees, but done before it returns, with no
   * promise. The HTTP layer then answers the POST inside uWS's own callback. Absent on the Redis
   * broker, whose decision is a round trip. */
  publishNow?(message: Message): PublishResult;
  /** Counts a socket of `keys` as present (`fresh`: a new socket; otherwise one that must sync again
   * after Redis came back), then returns their held messages, oldest first, removed in
   * at-most-once. The socket must already be in the hub, so messages published meanwhile queue for it. */
  join(keys: readonly string[], fresh: boolean): Promise<HeldMessage[]>;
  /** A socket of `keys` closed. */
  leave(keys: readonly string[]): void;
  /** `listener` runs when presence was lost and is rebuilt: every open socket must join again, since
   * messages for it may have been held meanwhile. */
  onRecovered(listener: () => void): void;
  /** Why this node cannot take traffic now, or undefined when it can. */
  unavailable(): string | undefined;
  close(): Promise<void>;
}
