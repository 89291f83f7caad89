// The WS_WORKERS concurrency gate as a wrapper around any authenticator: at most `workers` calls in
// flight, at most `queueLimit` waiting for a slot, the rest refused at once with AUTH_QUEUE_FULL and
// a Retry-After paced at the rate calls complete (retry-pacer.ts).
// A counter and a FIFO rather than p-queue: measured on this path, p-queue cost 7-8 µs of CPU per
// call (per-task ids, Symbols, a Map of running tasks, an async wrapper and a microtask hop), this
// gate under 1 µs, against ~50 µs for the whole forward-auth call.
import { OctowayError } from '../errors.js';
import type { Logger } from '../log.js';
import { clientGone, type AuthResult, type Authenticator, type CancelSignal, type UpgradeRequest } from './authenticator.js';
import type { AuthMeter } from './metered.js';
import { createRetryPacer } from './retry-pacer.js';

export interface GateOptions {
  readonly workers: number;
  readonly queueLimit: number;
  /** Told each call's outcome and its time holding a slot (queueing not counted), once settled.
   * Metered here rather than by a wrapper of its own: that was one more promise, reaction and
   * closure kept alive by every call in flight. */
  readonly meter?: AuthMeter | undefined;
}

/**
 * Guarantees: calls start in arrival order; a call whose client goes away while waiting is dropped
 * (inner never sees it) and one in flight is answered CLIENT_GONE at once, its slot going to the
 * next waiting call there and then (inner is told through the same signal and aborts its own
 * work); close() answers every waiting call SHUTTING_DOWN and lets calls in flight finish. The
 * returned promise never rejects, even if inner breaks its contract.
 */
export function withConcurrencyGate(inner: Authenticator, options: GateOptions, log: Logger): Authenticator {
  return createConcurrencyGate(options, log).wrap(inner);
}

/** One WS_WORKERS bound shared by several authenticators (one per app, see src/apps.ts): `wrap`
 * gives each its gated authenticator, all drawing slots from the same `workers` and queueing, in
 * arrival order, in the same `queueLimit`. Each wrapped authenticator's `load` counts its own calls. */
export interface ConcurrencyGate {
  /** `meter` (the gate's own by default) hears each call's outcome and time. */
  wrap(inner: Authenticator, meter?: AuthMeter): Authenticator;
}

export function createConcurrencyGate(options: GateOptions, log: Logger): ConcurrencyGate {
  const workers = Math.max(1, options.workers);
  const waiting = new Waitlist();
  const pacer = createRetryPacer();
  let inFlight = 0;
  let closed = false;

  const release = (call: GatedCall): void => {
    inFlight--;
    call.owner.inFlight--;
    pacer.completed(performance.now());
    if (closed) return;
    // A freed slot goes to the longest waiting call, at once.
    const next = waiting.shift();
    if (next !== undefined) run(next);
  };

  const run = (call: GatedCall): void => {
    inFlight++;
    call.owner.inFlight++;
    call.state = RUNNING;
    if (call.owner.meter !== undefined) call.startedAt = performance.now();
    let answer: Promise<AuthResult>;
    try {
      answer = call.owner.inner.authenticate(call.request, call.signal);
    } catch (err) {
      answer = Promise.reject(err);
    }
    answer.then((result) => call.settle(result), (err: unknown) => {
      if (call.signal.aborted) return call.settle(clientGone());
      log.error({ err }, 'authenticator rejected instead of answering; upgrade refused');
      call.settle(refusal('INTERNAL_ERROR'));
    });
  };

  return {
    wrap(inner, meter = options.meter) {
      const owner: Owner = { inner, meter, waiting: 0, inFlight: 0 };
      return {
        authenticate(request, signal) {
          if (closed) return Promise.resolve(refusal('SHUTTING_DOWN'));
          if (signal.aborted) return Promise.resolve(clientGone());
          if (inFlight >= workers && waiting.size >= options.queueLimit) {
            log.debug({ waiting: waiting.size }, 'auth queue full');
            return Promise.resolve(refusal('AUTH_QUEUE_FULL', pacer.retryAfter(performance.now(), waiting.size)));
          }
          const call = new GatedCall(request, signal, owner, release, waiting);
          if (inFlight < workers) run(call);
          else waiting.push(call);
          return call.promise;
        },
        load: {
          get waiting() { return owner.waiting; },
          get inFlight() { return owner.inFlight; },
        },
        async close() {
          // Closing one closes the gate: every app's authenticators close together, at shutdown.
          closed = true;
          for (let call = waiting.shift(); call !== undefined; call = waiting.shift()) call.settle(refusal('SHUTTING_DOWN'));
          await inner.close();
        },
      };
    },
  };
}

/** One wrapped authenticator and its share of the gate's calls. */
interface Owner {
  readonly inner: Authenticator;
  readonly meter: AuthMeter | undefined;
  waiting: number;
  inFlight: number;
}

/** NEW: not started; QUEUED: waiting for a slot; RUNNING: holds a slot; SETTLED: answered. */
const NEW = 0;
const QUEUED = 1;
const RUNNING = 2;
const SETTLED = 3;
type State = typeof NEW | typeof QUEUED | typeof RUNNING | typeof SETTLED;

/** One call through the gate: its promise and its client-abort listener (handleEvent) in one object. */
class GatedCall {
  readonly promise: Promise<AuthResult>;
  state: State = NEW;
  /** performance.now() when it took a slot; kept only when metered. */
  startedAt = 0;
  private resolve!: (result: AuthResult) => void;

  constructor(
    readonly request: UpgradeRequest,
    readonly signal: CancelSignal,
    readonly owner: Owner,
    private readonly release: (call: GatedCall) => void,
    private readonly waiting: Waitlist,
  ) {
    this.promise = new Promise((resolve) => { this.resolve = resolve; });
    signal.addEventListener('abort', this, { once: true });
  }

  /** The client went away: a waiting call leaves the queue, a running one gives its slot back now. */
  handleEvent(): void {
    this.settle(clientGone());
  }

  settle(result: AuthResult): void {
    const was = this.state;
    if (was === SETTLED) return;
    this.state = SETTLED;
    this.signal.removeEventListener('abort', this);
    if (was === QUEUED) {
      this.waiting.size--;
      this.owner.waiting--;
    } else if (was === RUNNING) {
      this.release(this);
      this.owner.meter?.call(result.ok ? 'allowed' : result.error.code, (performance.now() - this.startedAt) / 1000);
    }
    this.resolve(result);
  }
}

/** Calls waiting for a slot, oldest first. A call that leaves while waiting stays in the array,
 * settled, and is skipped when its turn comes; `size` counts only the QUEUED ones. */
class Waitlist {
  private items: (GatedCall | undefined)[] = [];
  private head = 0;
  size = 0;

  push(call: GatedCall): void {
    call.state = QUEUED;
    this.items.push(call);
    this.size++;
    call.owner.waiting++;
  }

  /** The oldest QUEUED call, taken off the queue (state NEW again), or undefined. */
  shift(): GatedCall | undefined {
    while (this.head < this.items.length) {
      const call = this.items[this.head];
      this.items[this.head++] = undefined;
      if (call !== undefined && call.state === QUEUED) {
        call.state = NEW;
        this.size--;
        call.owner.waiting--;
        this.compact();
        return call;
      }
    }
    this.compact();
    return undefined;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

function refusal(code: 'SHUTTING_DOWN' | 'AUTH_QUEUE_FULL' | 'INTERNAL_ERROR', retryAfter?: number): AuthResult {
  return { ok: false, error: new OctowayError(code, undefined, retryAfter === undefined ? undefined : { retryAfter }) };
}
