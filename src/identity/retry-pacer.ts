// Retry-After for upgrades refused because the auth queue is full (AUTH_QUEUE_FULL): paced at the
// rate auth calls complete, so that in a reconnect storm the refused clients come back spread over
// the time the gateway needs to take them, instead of all at once a second later to be refused again.

export interface RetryPacer {
  /** An auth call finished (its slot freed) at `nowMs`. */
  completed(nowMs: number): void;
  /** Whole seconds (1 to MAX_RETRY_AFTER_S) to send with a refusal at `nowMs` while `waiting` calls
   * queue. Guarantee: across refusals close in time, the values never decrease, and each one is
   * about when the capacity promised to the refusals before it runs out: the queue's drain time,
   * plus one completion interval per earlier refusal still pending, at OPTIMISM times the measured
   * rate. Without a measured rate yet (a
   * fresh process, or one idle for a while) it is 1. */
  retryAfter(nowMs: number, waiting: number): number;
}

/** Completions are counted over windows this long. */
const WINDOW_MS = 1000;
/** The capacity is the best rate of the last this many windows: while refused clients wait, fewer
 * calls complete, and taking that lull for the capacity would tell the next ones to wait longer
 * still. Windows older than that, or separated from now by a quiet spell, are forgotten. */
const WINDOWS = 10;
/** The measured rate is taken as this many times the capacity: completions measured early in a
 * storm (a process just started, its code not yet optimised) understate what it can take, and a
 * client told to wait too long leaves capacity idle, which costs more than refusing it once more. */
const OPTIMISM = 2;
/** A partial window this long, with this many completions, already gives a usable rate; fewer
 * (the first moments of a process just started) would tell a whole storm to wait far too long. */
const MIN_WINDOW_MS = 200;
const MIN_COMPLETIONS = 100;
export const MAX_RETRY_AFTER_S = 30;

export function createRetryPacer(): RetryPacer {
  let windowStart = -Infinity;
  let count = 0;
  /** Completions per ms of the last WINDOWS full windows (a ring), and when the last one closed. */
  const rates = new Float64Array(WINDOWS);
  let ring = 0;
  let lastClosedAt = -Infinity;
  /** When the capacity already promised to refused clients runs out (ms, same clock). */
  let promisedUntil = 0;

  const forgetIfQuiet = (now: number): void => {
    // A gap of more than a window without a completion: what came before measured another time.
    if (now - windowStart > 2 * WINDOW_MS && now - lastClosedAt > 2 * WINDOW_MS) {
      rates.fill(0);
      windowStart = now;
      count = 0;
    }
  };

  const rate = (now: number): number => {
    forgetIfQuiet(now);
    const elapsed = now - windowStart;
    let best = elapsed >= MIN_WINDOW_MS && count >= MIN_COMPLETIONS ? count / elapsed : 0;
    for (const r of rates) if (r > best) best = r;
    return best * OPTIMISM;
  };

  return {
    completed(now) {
      forgetIfQuiet(now);
      if (now - windowStart >= WINDOW_MS) {
        if (Number.isFinite(windowStart)) {
          rates[ring] = count / (now - windowStart);
          ring = (ring + 1) % WINDOWS;
          lastClosedAt = now;
        }
        windowStart = now;
        count = 0;
      }
      count++;
    },
    retryAfter(now, waiting) {
      const perMs = rate(now);
      if (perMs <= 0) return 1;
      promisedUntil = Math.max(promisedUntil, now + waiting / perMs) + 1 / perMs;
      return Math.min(MAX_RETRY_AFTER_S, Math.max(1, Math.ceil((promisedUntil - now) / 1000)));
    },
  };
}
