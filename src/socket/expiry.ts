// Token expiry: sockets whose credential has an `exp` are closed when it passes (plus WS_JWT_LEEWAY),
// with a reconnect close code. One structure per gateway, not a timer per socket: sockets sit in
// buckets keyed by the whole unix second they close at, and one sweep a second closes the due
// buckets. A socket costs one Set entry and one number on its record.
import type { Socket } from './connection.js';

export interface ExpiryWheel {
  /** Closes `ws` at `expiresAt` (unix seconds; the leeway is added here), replacing its previous
   * expiry if it had one. 0 removes it (the socket no longer expires). */
  schedule(ws: Socket, expiresAt: number): void;
  /** Forgets a socket that closed. */
  remove(ws: Socket): void;
  /** Closes every socket due at or before `nowS` (called by the wheel's own timer; exposed for tests). */
  sweep(nowS: number): void;
  /** Sockets scheduled. */
  readonly size: number;
  stop(): void;
}

export interface ExpiryOptions {
  /** WS_JWT_LEEWAY in whole seconds (rounded up): tokens are accepted that long past `exp`, so
   * sockets are kept that long too. */
  readonly leewayS: number;
  /** Closes one expired socket (with the reconnect code). */
  readonly expire: (ws: Socket) => void;
  /** Wall clock in unix seconds; tokens' `exp` is wall-clock time. */
  readonly now?: () => number;
}

const SWEEP_MS = 1_000;

export function createExpiryWheel(options: ExpiryOptions): ExpiryWheel {
  const now = options.now ?? ((): number => Math.floor(Date.now() / 1000));
  const buckets = new Map<number, Set<Socket>>();
  let size = 0;
  /** Seconds up to this one have been swept: a socket due then or earlier goes to the next sweep. */
  let swept = now() - 1;
  let timer: NodeJS.Timeout | undefined;

  const unlink = (ws: Socket): void => {
    const data = ws.getUserData();
    if (data.closeAt === 0) return;
    const bucket = buckets.get(data.closeAt);
    if (bucket?.delete(ws) === true) {
      size--;
      if (bucket.size === 0) buckets.delete(data.closeAt);
    }
    data.closeAt = 0;
  };

  const wheel: ExpiryWheel = {
    schedule(ws, expiresAt) {
      unlink(ws);
      if (expiresAt <= 0) return;
      const data = ws.getUserData();
      // Due already (a token that expired within its leeway while the upgrade went on): the next sweep.
      data.closeAt = Math.max(expiresAt + options.leewayS, swept + 1);
      let bucket = buckets.get(data.closeAt);
      if (bucket === undefined) buckets.set(data.closeAt, (bucket = new Set()));
      bucket.add(ws);
      size++;
      if (timer === undefined) {
        timer = setInterval(() => wheel.sweep(now()), SWEEP_MS);
        timer.unref();
      }
    },

    remove: unlink,

    sweep(nowS) {
      // Walks the seconds since the last sweep, not the buckets: a sweep costs the sockets due.
      // A clock step backwards waits for time to catch up; a step forwards sweeps what it skipped.
      // After a long step, walking the buckets is shorter.
      const seconds = nowS - swept > buckets.size
        ? [...buckets.keys()].filter((s) => s <= nowS).sort((a, b) => a - b)
        : Array.from({ length: Math.max(0, nowS - swept) }, (_, i) => swept + 1 + i);
      for (const second of seconds) {
        const due = buckets.get(second);
        if (due === undefined) continue;
        buckets.delete(second);
        size -= due.size;
        for (const ws of due) {
          ws.getUserData().closeAt = 0;
          options.expire(ws);
        }
      }
      if (nowS > swept) swept = nowS;
      if (size === 0 && timer !== undefined) {
        clearInterval(timer);
        timer = undefined;
      }
    },

    get size() { return size; },

    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
  return wheel;
}
