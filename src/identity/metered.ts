// What the metrics learn from client auth, as hooks the identity wrappers call: each backend call's
// outcome and duration (the WS_WORKERS gate reports them), and the decision cache's hits and
// misses. The metrics module implements them (metrics/registry.ts); identity code never imports
// Prometheus.
export interface AuthMeter {
  /** A backend call settled: `allowed`, or the refusal's error code (CLIENT_GONE included); `seconds`
   * from the call's start inside the WS_WORKERS gate to its answer, so queueing is not counted. */
  call(outcome: string, seconds: number): void;
  /** Lookups in the decision cache: plain counters, bumped once per upgrade. */
  readonly cache: { hits: number; misses: number };
}
