// The WS_WORKERS concurrency gate as a wrapper around any authenticator: at most `workers` calls in
// flight, at most `queueLimit` waiting for a slot, the rest refused at once with AUTH_QUEUE_FULL.
import PQueue from 'p-queue';
import { OctowayError } from '../errors.js';
import type { Logger } from '../log.js';
import { clientGone, type AuthResult, type Authenticator } from './authenticator.js';

export interface GateOptions {
  readonly workers: number;
  readonly queueLimit: number;
}

/**
 * Guarantees, with p-queue doing the bookkeeping: calls start in arrival order; a call whose client
 * goes away while waiting is dropped (inner never sees it) and one in flight is answered CLIENT_GONE
 * at once, its slot going to the next waiting call there and then (inner is told through the same
 * signal and aborts its own work); close() answers every waiting call SHUTTING_DOWN and lets calls in
 * flight finish. The returned promise never rejects, even if inner breaks its contract.
 */
export function withConcurrencyGate(inner: Authenticator, options: GateOptions, log: Logger): Authenticator {
  const workers = Math.max(1, options.workers);
  const queue = new PQueue({ concurrency: workers });
  /** Resolvers of the calls waiting for a slot, so close() can answer them. */
  const waiting = new Set<(result: AuthResult) => void>();
  let closed = false;

  return {
    authenticate(request, signal) {
      if (closed) return Promise.resolve(refusal('SHUTTING_DOWN'));
      if (signal.aborted) return Promise.resolve(clientGone());
      const runsNow = queue.pending < workers;
      if (!runsNow && queue.size >= options.queueLimit) {
        log.debug({ waiting: queue.size }, 'auth queue full');
        return Promise.resolve(refusal('AUTH_QUEUE_FULL', 1));
      }
      return new Promise<AuthResult>((resolve) => {
        if (!runsNow) waiting.add(resolve);
        const task = (): Promise<AuthResult> => {
          waiting.delete(resolve);
          return inner.authenticate(request, signal);
        };
        // p-queue takes an AbortSignal; a CancelSignal has every member of one that it uses.
        queue.add(task, { signal: signal as unknown as AbortSignal }).then(resolve, (err: unknown) => {
          waiting.delete(resolve);
          if (signal.aborted) return resolve(clientGone());
          log.error({ err }, 'authenticator rejected instead of answering; upgrade refused');
          resolve(refusal('INTERNAL_ERROR'));
        });
      });
    },
    load: {
      get waiting() { return queue.size; },
      get inFlight() { return queue.pending; },
    },
    async close() {
      closed = true;
      queue.clear();
      for (const resolve of waiting) resolve(refusal('SHUTTING_DOWN'));
      waiting.clear();
      await inner.close();
    },
  };
}

function refusal(code: 'SHUTTING_DOWN' | 'AUTH_QUEUE_FULL' | 'INTERNAL_ERROR', retryAfter?: number): AuthResult {
  return { ok: false, error: new OctowayError(code, undefined, retryAfter === undefined ? undefined : { retryAfter }) };
}
