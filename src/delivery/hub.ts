// The hub: this node's open sockets by routing key, and the one place frames are written to them.
// Single-key fan-out goes through uWS topics (one publish, C++ does the per-socket work);
// only multi-key messages and sockets still receiving their held messages take the JS path.
import type { TemplatedApp } from 'uWebSockets.js';
import { creditSyncFrames } from '../socket/inbound-budget.js';
import { connectionId, nowSeconds, type Connection, type Socket } from '../socket/connection.js';
import { CLOSE_CODES } from '../errors.js';

/** Per-socket state is the connection record (socket/connection.ts), kept in uWS's typed user data. */
export type SocketData = Connection;
export type { Socket };
export { nowSeconds };
/** The id a socket has in logs. */
export const connLabel = connectionId;

/** Close code for a consumer that cannot keep up (RFC 6455 "try again later"): reconnect. */
export const CLOSE_SLOW_CONSUMER = CLOSE_CODES.SLOW_CONSUMER.code;

export interface Hub {
  /** Registers a new socket under its keys. It counts as present at once, but live frames are
   * queued for it until goLive, so held messages always reach it first. */
  add(ws: Socket): void;
  /** Writes the socket's held frames, then the live frames queued meanwhile (skipping any already
   * sent as held), then subscribes it to its keys. Returns false if the socket closed first. */
  goLive(ws: Socket, held: ReadonlyArray<{ readonly id: string; readonly frame: string }>): boolean;
  /** Puts a live socket back to syncing, as after add: live frames queue until the next goLive. */
  resync(ws: Socket): void;
  remove(ws: Socket): void;
  /** Writes the frame to every socket of the keys, once per socket; returns how many. */
  deliver(keys: readonly string[], id: string, frame: string): number;
  /** Writes a frame to one socket, closing it as a slow consumer past the backpressure bound. */
  send(ws: Socket, frame: string): boolean;
  has(key: string): boolean;
  readonly size: number;
  /** Routing keys with at least one socket here. */
  readonly keyCount: number;
  /** Frames written to sockets so far (a frame queued for a syncing socket counts once written):
   * a plain counter, read by the metrics on scrape. */
  readonly written: number;
  sockets(): IterableIterator<Socket>;
  /** Closes every socket whose send buffer is past the bound, or (WS_WRITE_TIMEOUT) has not shrunk
   * for that long, seen from one call to the next (the server calls it every second); returns how many. */
  closeSlowConsumers(now?: number): number;
}

export function createHub(app: TemplatedApp, maxBackpressureBytes: number, writeTimeoutMs = 0): Hub {
  /** Sockets with unsent data (few), with the least seen and since when: a socket whose send buffer
   * has not shrunk for writeTimeoutMs cannot take writes (Goctopus's WS_WRITE_TIMEOUT). */
  const stalled = new Map<Socket, { buffered: number; since: number }>();
  const byKey = new Map<string, Set<Socket>>();
  /** Per key, sockets still syncing: lets deliver skip the per-socket loop in the common case. */
  const syncingByKey = new Map<string, number>();
  const all = new Set<Socket>();
  let written = 0;

  const slow = (ws: Socket): boolean => {
    if (ws.getBufferedAmount() <= maxBackpressureBytes) return false;
    ws.getUserData().closed = true;
    ws.end(CLOSE_SLOW_CONSUMER, 'slow consumer');
    return true;
  };

  const stalledTooLong = (ws: Socket, now: number): boolean => {
    const buffered = ws.getBufferedAmount();
    const seen = stalled.get(ws);
    if (buffered === 0) stalled.delete(ws);
    else if (seen === undefined || buffered < seen.buffered) stalled.set(ws, { buffered, since: now });
    else return now - seen.since >= writeTimeoutMs;
    return false;
  };

  const send = (ws: Socket, frame: string): boolean => {
    const data = ws.getUserData();
    if (data.closed) return false;
    if (data.pending !== undefined) throw new Error('send to a syncing socket: use deliver');
    ws.send(frame, false, false);
    written++;
    return !slow(ws);
  };

  const queueOrSend = (ws: Socket, id: string, frame: string): void => {
    const pending = ws.getUserData().pending;
    if (pending !== undefined) pending.push({ id, frame });
    else send(ws, frame);
  };

  const setSyncing = (keys: readonly string[], delta: number): void => {
    for (const key of keys) {
      const n = (syncingByKey.get(key) ?? 0) + delta;
      if (n > 0) syncingByKey.set(key, n);
      else syncingByKey.delete(key);
    }
  };

  return {
    add(ws) {
      const data = ws.getUserData();
      data.pending = [];
      all.add(ws);
      for (const key of data.keys) {
        let set = byKey.get(key);
        if (set === undefined) byKey.set(key, (set = new Set()));
        set.add(ws);
      }
      setSyncing(data.keys, +1);
    },

    goLive(ws, held) {
      const data = ws.getUserData();
      const pending = data.pending;
      if (pending === undefined || data.closed) return false;
      data.pending = undefined;
      setSyncing(data.keys, -1);
      const sent = new Set<string>();
      for (const { id, frame } of held) {
        sent.add(id);
        if (!send(ws, frame)) return true;
      }
      let written = held.length;
      for (const { id, frame } of pending) {
        if (sent.has(id)) continue;
        written++;
        if (!send(ws, frame)) return true;
      }
      // The client may answer all of them at once: see socket/inbound-budget.ts. (Its answers
      // cannot arrive before this line: they are read on this thread, after this call returns.)
      creditSyncFrames(data, written);
      for (const key of data.keys) ws.subscribe(key);
      return true;
    },

    resync(ws) {
      const data = ws.getUserData();
      if (data.closed || data.pending !== undefined) return;
      data.pending = [];
      setSyncing(data.keys, +1);
      // Subscribed sockets get topic publishes directly; unsubscribed, they take the queueing path.
      for (const key of data.keys) ws.unsubscribe(key);
    },

    remove(ws) {
      const data = ws.getUserData();
      data.closed = true;
      if (!all.delete(ws)) return;
      if (data.pending !== undefined) setSyncing(data.keys, -1);
      for (const key of data.keys) {
        const set = byKey.get(key);
        if (set === undefined) continue;
        set.delete(ws);
        if (set.size === 0) byKey.delete(key);
      }
    },

    deliver(keys, id, frame) {
      if (keys.length === 1) {
        const key = keys[0] as string;
        const set = byKey.get(key);
        if (set === undefined) return 0;
        if (syncingByKey.has(key)) {
          for (const ws of set) {
            const pending = ws.getUserData().pending;
            if (pending !== undefined) pending.push({ id, frame });
          }
          written -= syncingByKey.get(key) as number; // counted by send() when goLive writes them
        }
        app.publish(key, frame, false, false);
        written += set.size;
        return set.size;
      }
      // Several keys: a socket under two of them must get the frame once, so collect first.
      const targets = new Set<Socket>();
      for (const key of keys) {
        const set = byKey.get(key);
        if (set !== undefined) for (const ws of set) targets.add(ws);
      }
      for (const ws of targets) queueOrSend(ws, id, frame);
      return targets.size;
    },

    send,
    has: (key) => byKey.has(key),
    get size() {
      return all.size;
    },
    get keyCount() {
      return byKey.size;
    },
    get written() {
      return written;
    },
    sockets: () => all.values(),

    closeSlowConsumers(now = performance.now()) {
      let closed = 0;
      for (const ws of all) {
        if (ws.getUserData().closed) continue;
        if (slow(ws)) closed++;
        else if (writeTimeoutMs > 0 && stalledTooLong(ws, now)) {
          ws.getUserData().closed = true;
          ws.end(CLOSE_SLOW_CONSUMER, 'slow consumer');
          closed++;
        }
      }
      for (const ws of stalled.keys()) if (!all.has(ws) || ws.getUserData().closed) stalled.delete(ws);
      return closed;
    },
  };
}
