// The HMAC publisher mode's memory of accepted signatures, so that a captured request cannot be
// sent again within WS_HMAC_TOLERANCE. Two implementations: one node (memory-replay-guard.ts) and
// every node sharing Redis (redis-replay-guard.ts); test/http/replay-guard.contract.ts runs both.

/** `first`: never seen, now remembered; `replayed`: accepted before, within the window;
 * `too-old`: older than what the guard can still vouch for (a bounded memory that had to forget
 * early refuses rather than admit a replay). */
export type ReplayVerdict = 'first' | 'replayed' | 'too-old';

export interface ReplayGuard {
  /** Records `signature` (hex), signed at `t` (unix seconds), atomically with the check: of two
   * requests racing with one signature, on one node or two, exactly one gets `first`. It is
   * remembered at least until `t` + the tolerance has passed. Memory answers at once; Redis with a
   * promise, which rejects with STORE_UNAVAILABLE when Redis cannot answer. */
  claim(signature: string, t: number, now?: number): ReplayVerdict | Promise<ReplayVerdict>;
}
