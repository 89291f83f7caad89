// The held-message store contract: messages waiting for a key to connect (or, in at-least-once
// mode, for an acknowledgement). Implemented in memory (memory-store.ts) and in Redis (redis-store.ts);
// both run the shared contract suite in test/delivery/held-store.contract.ts.

export interface HeldMessage {
  readonly id: string;
  readonly key: string;
  /** The text frame exactly as browsers receive it. */
  readonly frame: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly expiresAt: number;
  /** The `expire` as the backend posted it (WS_MSG_EXPIRE's text when it gave none): Goctopus's
   * `exp` in the admin listing. A duration's text, so never a newline, ':' or '/' in it. */
  readonly expire: string;
}

export interface HeldStoreStats {
  readonly held: number;
  readonly droppedPerKey: number;
  readonly droppedTotal: number;
  /** Keys holding messages, and entries removed because they expired; undefined where the store
   * cannot count them cheaply (Redis prunes inside its scripts). For the metrics. */
  readonly keys?: number;
  readonly expired?: number;
}

export interface HeldStore {
  /** Stores the message under each key, with one expiry. Resolves once stored; rejects with an
   * OctowayError STORE_UNAVAILABLE when it could not be, so the publisher never gets a 202 for it.
   * Past the per-key bound the key's oldest message is dropped; past the total bound the oldest
   * message overall. */
  hold(message: Omit<HeldMessage, 'key'>, keys: readonly string[]): Promise<void>;

  /** The unexpired messages held under any of `keys`, oldest first, each id once.
   * With `remove`, they are removed in the same atomic step, so when two sockets of a key connect
   * at once (on one node or several) each message goes to exactly one of them. */
  fetch(keys: readonly string[], remove: boolean): Promise<HeldMessage[]>;

  /** Removes message `id` from each of `keys`; resolves to the number of entries removed. */
  ack(keys: readonly string[], id: string): Promise<number>;

  /** Keys with held messages and how many each holds. */
  keys(): Promise<Array<{ key: string; count: number }>>;

  /** The keys with held messages that any of `patterns` (key-pattern.ts) matches: what a pattern
   * socket fetches as it connects (once per connect, never per acknowledgement). May include keys whose
   * messages have just expired. */
  heldKeysMatching(patterns: readonly string[]): Promise<string[]>;

  /** One key's held messages, oldest first. */
  list(key: string): Promise<HeldMessage[]>;

  /** Removes everything, one key's messages, or one message of a key; resolves to the count removed. */
  remove(selector: { key?: string; id?: string }): Promise<number>;

  /** Remembers a backend message_id for `ttlMs`. Resolves false when it is already remembered:
   * the publish is a retry and must be neither stored nor delivered again. */
  rememberMessageId(messageId: string, ttlMs: number): Promise<boolean>;

  /** Undoes rememberMessageId when the publish then failed, so the backend's retry is accepted. */
  forgetMessageId(messageId: string): Promise<void>;

  stats(): HeldStoreStats;
  close(): Promise<void>;
}
