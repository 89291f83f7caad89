// Forward auth as the gateway runs it: the decision cache around the WS_WORKERS gate around the
// backend call. Cache hits never wait for a slot; only misses reach the gate.
import type { Logger } from '../log.js';
import type { Authenticator } from './authenticator.js';
import { withDecisionCache } from './cached.js';
import { createForwardAuthenticator, type ForwardOptions } from './forward.js';
import { withConcurrencyGate, type ConcurrencyGate } from './gate.js';
import type { AuthMeter } from './metered.js';

export interface ForwardPipelineOptions extends Omit<ForwardOptions, 'connections'> {
  /** WS_WORKERS: calls in flight, and connections to the backend. */
  readonly workers: number;
  /** WS_AUTH_QUEUE: calls waiting for a slot. */
  readonly queueLimit: number;
  readonly cacheTtlMs: number;
  readonly cacheNegativeTtlMs: number;
  readonly cacheMax: number;
  /** Where backend calls and cache lookups are reported (the metrics); none when undefined. */
  readonly meter?: AuthMeter;
  /** A WS_WORKERS gate shared with other apps' pipelines (src/apps.ts); a gate of its own when undefined. */
  readonly gate?: ConcurrencyGate | undefined;
}

export function createForwardPipeline(options: ForwardPipelineOptions, log: Logger): Authenticator {
  const forward = createForwardAuthenticator({ ...options, connections: options.workers }, log);
  const gated = options.gate !== undefined
    ? options.gate.wrap(forward, options.meter)
    : withConcurrencyGate(forward, { workers: options.workers, queueLimit: options.queueLimit, meter: options.meter }, log);
  return withDecisionCache(gated, { ttlMs: options.cacheTtlMs, negativeTtlMs: options.cacheNegativeTtlMs, max: options.cacheMax }, forward.cacheKey, options.meter?.cache);
}
