// Accepted HMAC signatures of one node, in a Map in acceptance order, bounded in size. When full,
// the oldest is forgotten early, and from then on every signature dated at or before it is refused
// as too old: forgetting shrinks the accepted window, it never opens one for a replay.
import type { ReplayGuard, ReplayVerdict } from './replay-guard.js';

/** The most remembered: about 40 bytes each, so at most ~20 MB. At the default 5m tolerance that is
 * ~800 signed requests per second before the window starts shrinking. */
export const MAX_REMEMBERED = 500_000;
/** Expired entries dropped per claim at most: bounded work on the publish path. */
const SWEEP_BUDGET = 4;
/** The first 52 bits of a signature, as a number: a number in a Set and a double in an array cost
 * no string (the signature's own string is a slice of the request's header, which it would keep
 * alive). Two signatures share them with a chance of 1 in 2^52 per pair; that would refuse a
 * genuine request, never accept a replay, and no one without the secret can aim for it. */
const KEY_HEX_DIGITS = 13;

export class MemoryReplayGuard implements ReplayGuard {
  /** Remembered signature keys (membership only). */
  readonly #seen = new Set<number>();
  /** The same prefixes and their dates (unix seconds), oldest accepted first, from #head on. A queue
   * of its own because V8's Map, whose oldest entries were deleted, walks past every deleted slot to
   * find its first live one: ~50 µs per claim at 50,000 entries, measured. */
  #order: number[] = [];
  #dates: number[] = [];
  #head = 0;
  readonly #toleranceS: number;
  readonly #max: number;
  /** Signatures dated at or before this were forgotten early: they are refused. */
  #horizon = -Infinity;

  constructor(toleranceMs: number, max = MAX_REMEMBERED) {
    this.#toleranceS = toleranceMs / 1000;
    this.#max = max;
  }

  get size(): number {
    return this.#seen.size;
  }

  claim(signature: string, t: number, now = Date.now()): ReplayVerdict {
    this.#sweep(now / 1000);
    if (t <= this.#horizon) return 'too-old';
    const key = parseInt(signature.slice(0, KEY_HEX_DIGITS), 16);
    if (this.#seen.has(key)) return 'replayed';
    this.#seen.add(key);
    this.#order.push(key);
    this.#dates.push(t);
    if (this.#seen.size > this.#max) {
      const oldestT = this.#dates[this.#head] as number;
      this.#forgetOldest();
      if (oldestT > this.#horizon) this.#horizon = oldestT;
    }
    return 'first';
  }

  /** Drops entries whose date is past the tolerance: a replay of them is refused as stale anyway. */
  #sweep(nowS: number): void {
    for (let i = 0; i < SWEEP_BUDGET && this.#head < this.#order.length; i++) {
      if ((this.#dates[this.#head] as number) >= nowS - this.#toleranceS) return;
      this.#forgetOldest();
    }
  }

  #forgetOldest(): void {
    this.#seen.delete(this.#order[this.#head] as number);
    this.#head++;
    // Drop the consumed front now and then: amortized O(1), and the arrays stay at most twice the live size.
    if (this.#head >= 1024 && this.#head * 2 >= this.#order.length) {
      this.#order = this.#order.slice(this.#head);
      this.#dates = this.#dates.slice(this.#head);
      this.#head = 0;
    }
  }
}
