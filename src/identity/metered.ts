// What the metrics learn from client auth, as hooks the identity wrappers call: each backend call's
// outcome and duration, and the decision cache's hits and misses. The metrics module implements
// them (metrics/registry.ts); identity code never imports Prometheus.
import type { Authenticator } from './authenticator.js';

export interface AuthMeter {
  /** A backend call settled: `allowed`, or the refusal's error code (CLIENT_GONE included); `seconds`
   * from the call's start inside the WS_WORKERS gate to its answer, so queueing is not counted. */
  call(outcome: string, seconds: number): void;
  /** Lookups in the decision cache: plain counters, bumped once per upgrade. */
  readonly cache: { hits: number; misses: number };
}

/** `inner`, with each call reported to `meter` once settled. Adds one `then` per call, against the
 * backend round trip it measures. */
export function withCallMeter(inner: Authenticator, meter: AuthMeter): Authenticator {
  return {
    authenticate(request, signal) {
      const started = performance.now();
      return inner.authenticate(request, signal).then((result) => {
        meter.call(result.ok ? 'allowed' : result.error.code, (performance.now() - started) / 1000);
        return result;
      });
    },
    load: inner.load,
    close: () => inner.close(),
  };
}
