// The hub: this node's open sockets by routing key, and where messages are written to them (v2
// replies to a socket still syncing, and the refresher's answers, are written directly by
// socket/native.ts and socket/refresh.ts, past the slow-consumer check; the 1 s sweep bounds them).
// Single-key fan-out goes through uWS topics (one publish, C++ does the per-socket work);
// only multi-key messages and sockets still receiving their held messages take the JS path.
// Pattern keys (key-pattern.ts) are topics too, named for the pattern: a message is published to its
// key's topic and to the topic of each distinct pattern here that matches it, so the cost grows with
// the patterns present, not their sockets; a node with none pays one size check.
// Sockets of other protocols (v2; delivery/framer.ts) are kept by framed-sockets.ts, one set per
// protocol, on uWS topics of their own; a node with none of them pays one integer check.
import { LRUCache } from 'lru-cache';
import type { TemplatedApp } from 'uWebSockets.js';
import { creditSyncFrames } from '../socket/inbound-budget.js';
import { nowSeconds, type NativeState, type Socket } from '../socket/connection.js';
import { CLOSE_CODES } from '../errors.js';
import { compilePattern, isPattern, type KeyMatcher } from './key-pattern.js';
import { sameNamespace } from './address.js';
import { GOCTOPUS, type Framer } from './framer.js';
import { createFramedSockets, type FramedSockets } from './framed-sockets.js';
import { decodeFrame, isConditioned } from './conditions.js';
import { deliverConditioned, frameOfConditioned, writeConditioned, type HubView } from './conditioned-delivery.js';

/** How many messages written to pattern sockets the hub remembers the keys of (see patternKeysOf):
 * a pattern socket's acknowledgement sent later than this many such messages leaves its message
 * held, to be sent again (at-least-once allows a duplicate, never a loss). About 150 bytes each. */
const PATTERN_DELIVERIES_REMEMBERED = 65_536;

/** Close code for a consumer that cannot keep up (RFC 6455 "try again later"): reconnect. */
export const CLOSE_SLOW_CONSUMER = CLOSE_CODES.SLOW_CONSUMER.code;

export interface Hub {
  /** Registers a new socket under its keys. It counts as present at once, but live frames are
   * queued for it until goLive, so held messages always reach it first. */
  add(ws: Socket): void;
  /** Writes the socket's held frames, then the live frames queued meanwhile (skipping any already
   * sent as held), then subscribes it to its keys. Returns false if the socket closed first. */
  goLive(ws: Socket, held: ReadonlyArray<{ readonly id: string; readonly frame: string; readonly key?: string; readonly seq?: number }>): boolean;
  /** Puts a live socket back to syncing, as after add: live frames queue until the next goLive. */
  resync(ws: Socket): void;
  remove(ws: Socket): void;
  /** Writes the frame to every socket of the addresses (keys, topics) or of a pattern matching one
   * of them, once per socket, each in its protocol's framing; returns how many. `from`: the
   * connection id of the client that published it; `exclude`: that client's socket, when it must
   * not get its own message back; `seqs`: its stream positions, aligned with `addresses` (history on
   * only; framed protocols show them, Goctopus frames never change). */
  deliver(addresses: readonly string[], id: string, frame: string, from?: string, exclude?: Socket, seqs?: readonly number[]): number;
  /** Runs `upgrade` (a uWS res.upgrade, which opens the socket before it returns) so that the socket
   * it opens speaks `framer`'s protocol; `since`: the key positions a v2 client asked to recover
   * from (delivery/recovery.ts), kept in its state until its first sync. */
  opening(framer: Framer, upgrade: () => void, since?: ReadonlyMap<string, number>): void;
  /** The protocol state of a socket speaking anything but Goctopus (from hub.add on); undefined for
   * a Goctopus socket. */
  nativeOf(ws: Socket): NativeState | undefined;
  /** Puts a socket (of a framed protocol) under a topic address until it unsubscribes or closes;
   * returns false when it was there already. */
  subscribe(ws: Socket, topic: string): boolean;
  /** Takes a socket from under a topic address; returns false when it was not there. */
  unsubscribe(ws: Socket, topic: string): boolean;
  /** Writes message `id` (a frame as published: plain or conditioned) to one socket, whichever its
   * addresses, in its protocol's framing, or queues it while the socket syncs; returns false when
   * the socket is closed or its conditions (filter) do not admit it. `via`: the address to name in
   * framings that say where a message came from. */
  deliverTo(ws: Socket, id: string, frame: string, from: string | undefined, via: string): boolean;
  /** Writes a frame to one socket, closing it as a slow consumer past the backpressure bound. */
  send(ws: Socket, frame: string | Uint8Array): boolean;
  /** Calls `listener` with every message delivered here to `address` (the bus's or a local
   * publish's), in delivery order, until the returned function is called: how a stream's recovery
   * (delivery/recovery.ts) queues what arrives while its history is read. Only while a framed
   * socket is open (recovery is v2's). */
  watch(address: string, listener: Watcher): () => void;
  /** The keys of message `id` that one of the socket's patterns matches, when the message was
   * written lately to a pattern socket here (live: the keys it was published to; held: the key it
   * was held under); [] otherwise. Where a pattern socket's acknowledgement applies, found without
   * searching the store: the client sets the acknowledgement rate, so each must cost O(1). */
  patternKeysOf(ws: Socket, id: string): readonly string[];
  /** Whether a socket here receives messages of `key`: under it, or under a pattern matching it. */
  has(key: string): boolean;
  /** Open sockets per key or pattern on this node (a socket counts under each of its keys; topics
   * are not counted: they have no presence yet, on one node as with Redis). */
  presence(): Map<string, number>;
  /** Puts a framed protocol's sockets on `app`, the uWS app (a seed listener's: src/protocols/
   * listener.ts) that accepts them: uWS topics are per app, so its publishes must go through it.
   * Called once per protocol, before its first socket; other protocols use the hub's own app. */
  bind(framer: Framer, app: TemplatedApp): void;
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

export type Watcher = (id: string, frame: string, from: string | undefined, seq: number | undefined) => void;

/** `compress` (WS_COMPRESS) asks uWS to deflate every frame; uWS does so only for the sockets that
 * negotiated permessage-deflate, and writes the rest as they are. */
export function createHub(app: TemplatedApp, maxBackpressureBytes: number, writeTimeoutMs = 0, compress = false): Hub {
  /** Sockets with unsent data (few), with the least seen and since when: a socket whose send buffer
   * has not shrunk for writeTimeoutMs cannot take writes (Goctopus's WS_WRITE_TIMEOUT). */
  const stalled = new Map<Socket, { buffered: number; since: number }>();
  const byKey = new Map<string, Set<Socket>>();
  /** Per key, sockets still syncing: lets deliver skip the per-socket loop in the common case. */
  const syncingByKey = new Map<string, number>();
  const all = new Set<Socket>();
  /** The distinct patterns among this node's socket keys, compiled once each. */
  const patterns = new Map<string, KeyMatcher>();
  /** Per key, sockets that also hold other keys: a topic without any can be published to by uWS
   * even when a message reaches several topics, since none of its sockets is in another. */
  const sharedByKey = new Map<string, number>();
  /** Message id to its keys, for messages written to a pattern topic or as held to a pattern socket. */
  const patternDeliveries = new LRUCache<string, readonly string[]>({ max: PATTERN_DELIVERIES_REMEMBERED });
  let written = 0;
  /** Recoveries in progress per address (see watch): empty almost always. */
  const watched = new Map<string, Set<Watcher>>();
  const notifyWatchers = (addresses: readonly string[], id: string, frame: string, from: string | undefined, seqs: readonly number[] | undefined): void => {
    addresses.forEach((address, i) => {
      const set = watched.get(address);
      if (set !== undefined) for (const listener of set) listener(id, frame, from, seqs?.[i]);
    });
  };
  /** Per framed protocol (any but Goctopus), its sockets; and each such socket's state. */
  const framed = new Map<Framer, FramedSockets>();
  const natives = new Map<Socket, NativeState>();
  /** The protocol of the socket opening now (see opening): Goctopus outside an upgrade. */
  let openingFramer: Framer = GOCTOPUS;
  let openingSince: ReadonlyMap<string, number> | undefined;
  const nativeOf = (ws: Socket): NativeState | undefined => (natives.size === 0 ? undefined : natives.get(ws));
  const laneOf = (framer: Framer, on: TemplatedApp = app): FramedSockets => {
    let lane = framed.get(framer);
    if (lane === undefined) {
      lane = createFramedSockets(framer, { app: on, compress, queueOrSend: (ws, id, frame) => queueOrSend(ws, id, frame), wrote: (n) => { written += n; }, patternDeliveries });
      framed.set(framer, lane);
    }
    return lane;
  };
  /** A framed socket's addresses: its keys, then its topics. */
  const addressesOf = (ws: Socket, state: NativeState): string[] => [...ws.getUserData().keys, ...state.subscribed];

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

  const send = (ws: Socket, frame: string | Uint8Array): boolean => {
    const data = ws.getUserData();
    if (data.closed) return false;
    if (data.pending !== undefined) throw new Error('send to a syncing socket: use deliver');
    ws.send(frame, typeof frame !== 'string', compress);
    written++;
    return !slow(ws);
  };

  const queueOrSend = (ws: Socket, id: string, frame: string | Uint8Array): void => {
    const pending = ws.getUserData().pending;
    if (pending !== undefined) pending.push({ id, frame });
    else send(ws, frame);
  };

  const setSyncing = (keys: readonly string[], delta: number): void => {
    for (const key of keys) bump(syncingByKey, key, delta);
  };

  /** One topic's sockets: uWS's publish for the subscribed ones, the queue for those still syncing. */
  const deliverTopic = (key: string, id: string, frame: string): number => {
    const set = byKey.get(key);
    if (set === undefined) return 0;
    if (syncingByKey.has(key)) {
      for (const ws of set) {
        const pending = ws.getUserData().pending;
        if (pending !== undefined) pending.push({ id, frame });
      }
    }
    app.publish(key, frame, false, compress);
    // Frames queued for syncing sockets are counted by send() when goLive writes them.
    written += set.size - (syncingByKey.get(key) ?? 0);
    return set.size;
  };

  /** The topics a message of `keys` reaches here: its keys with sockets, then each pattern matching
   * one of them, each once. */
  const topicsOf = (keys: readonly string[]): string[] => {
    const topics: string[] = [];
    for (const key of keys) if (byKey.has(key)) topics.push(key);
    for (const [pattern, matches] of patterns) {
      if (!topics.includes(pattern) && keys.some((key) => sameNamespace(pattern, key) && matches(key))) topics.push(pattern);
    }
    return topics;
  };

  /** Several topics: those whose sockets hold no other key through uWS, the rest once per socket. */
  const deliverTopics = (topics: readonly string[], id: string, frame: string): number => {
    let count = 0;
    let targets: Set<Socket> | undefined;
    for (const topic of topics) {
      if (!sharedByKey.has(topic)) {
        count += deliverTopic(topic, id, frame);
        continue;
      }
      targets ??= new Set();
      for (const ws of byKey.get(topic) as Set<Socket>) targets.add(ws);
    }
    if (targets !== undefined) for (const ws of targets) queueOrSend(ws, id, frame);
    return count + (targets?.size ?? 0);
  };

  /** Goctopus's sockets of the keys (today's path: one uWS publish for a single key). */
  const deliverGoctopus = (keys: readonly string[], id: string, frame: string): number => {
    if (patterns.size > 0) {
      const topics = topicsOf(keys);
      if (topics.some((topic) => patterns.has(topic))) patternDeliveries.set(id, keys);
      return topics.length === 1 ? deliverTopic(topics[0] as string, id, frame) : deliverTopics(topics, id, frame);
    }
    if (keys.length === 1) return deliverTopic(keys[0] as string, id, frame);
    // Several keys: a socket under two of them must get the frame once, so collect first.
    const targets = new Set<Socket>();
    for (const key of keys) {
      const set = byKey.get(key);
      if (set !== undefined) for (const ws of set) targets.add(ws);
    }
    for (const ws of targets) queueOrSend(ws, id, frame);
    return targets.size;
  };

  /** What conditioned-delivery.ts reads of this hub: a conditioned message is written socket by socket. */
  const view: HubView = { byKey, patterns, framed, framedCount: () => natives.size, framerOf: (ws) => nativeOf(ws)?.framer ?? GOCTOPUS, patternDeliveries, queueOrSend };

  return {
    add(ws) {
      const data = ws.getUserData();
      data.pending = [];
      all.add(ws);
      if (openingFramer !== GOCTOPUS) {
        const now = nowSeconds();
        natives.set(ws, { framer: openingFramer, subscribed: new Set(), publishSpent: 0, publishAt: now, errorSpent: 0, errorAt: now, since: openingSince, recovering: undefined });
        const lane = laneOf(openingFramer);
        for (const key of data.keys) lane.add(ws, key);
        return;
      }
      for (const key of data.keys) {
        let set = byKey.get(key);
        if (set === undefined) {
          byKey.set(key, (set = new Set()));
          if (isPattern(key)) patterns.set(key, compilePattern(key));
        }
        set.add(ws);
        if (data.keys.length > 1) bump(sharedByKey, key, +1);
      }
      setSyncing(data.keys, +1);
    },

    goLive(ws, held) {
      const data = ws.getUserData();
      const pending = data.pending;
      if (pending === undefined || data.closed) return false;
      data.pending = undefined;
      const state = nativeOf(ws);
      const framer = state?.framer ?? GOCTOPUS;
      const lane = state === undefined ? undefined : laneOf(framer);
      if (lane === undefined) setSyncing(data.keys, -1);
      const sent = new Set<string>();
      const pattern = lane === undefined ? data.keys.some((key) => patterns.has(key)) : data.keys.some(isPattern);
      for (const held1 of held) {
        const { id, key } = held1;
        // Held under its key: a framed protocol says so (v2's `key`), built per socket here. A
        // conditioned one was checked against the socket by the dispatcher (dispatcher.ts).
        const via = key ?? data.keys[0] as string;
        const frame = isConditioned(held1.frame) ? frameOfConditioned(decodeFrame(held1.frame), framer, via, id, undefined)
          : lane === undefined ? held1.frame : framer.frame(via, id, held1.frame, undefined, held1.seq);
        sent.add(id);
        if (pattern && key !== undefined) {
          const known = patternDeliveries.get(id);
          if (known === undefined) patternDeliveries.set(id, [key]);
          else if (!known.includes(key)) patternDeliveries.set(id, [...known, key]);
        }
        if (!send(ws, frame)) return true;
      }
      let credited = held.length;
      for (const { id, frame } of pending) {
        if (sent.has(id)) continue;
        credited++;
        if (!send(ws, frame)) return true;
      }
      // The client may answer all of them at once: see socket/inbound-budget.ts. (Its answers
      // cannot arrive before this line: they are read on this thread, after this call returns.)
      creditSyncFrames(data, credited);
      if (lane !== undefined) lane.live(ws, addressesOf(ws, state as NativeState));
      else for (const key of data.keys) ws.subscribe(key);
      return true;
    },

    resync(ws) {
      const data = ws.getUserData();
      if (data.closed || data.pending !== undefined) return;
      data.pending = [];
      const state = nativeOf(ws);
      if (state !== undefined) return laneOf(state.framer).resync(ws, addressesOf(ws, state));
      setSyncing(data.keys, +1);
      // Subscribed sockets get topic publishes directly; unsubscribed, they take the queueing path.
      for (const key of data.keys) ws.unsubscribe(key);
    },

    remove(ws) {
      const data = ws.getUserData();
      data.closed = true;
      if (!all.delete(ws)) return;
      const state = nativeOf(ws);
      if (state !== undefined) {
        natives.delete(ws);
        const lane = laneOf(state.framer);
        for (const address of addressesOf(ws, state)) lane.remove(ws, address);
        return;
      }
      if (data.pending !== undefined) setSyncing(data.keys, -1);
      for (const key of data.keys) {
        const set = byKey.get(key);
        if (set === undefined) continue;
        set.delete(ws);
        if (data.keys.length > 1) bump(sharedByKey, key, -1);
        if (set.size === 0) {
          byKey.delete(key);
          patterns.delete(key);
        }
      }
    },

    deliver(addresses, id, frame, from, exclude, seqs) {
      if (isConditioned(frame)) return deliverConditioned(view, addresses, id, decodeFrame(frame), from, exclude);
      const count = deliverGoctopus(addresses, id, frame);
      if (natives.size === 0) return count;
      // Watchers exist only while a framed (v2) socket recovers a stream: after the early return.
      if (watched.size > 0) notifyWatchers(addresses, id, frame, from, seqs);
      let framedCount = 0;
      for (const lane of framed.values()) framedCount += lane.deliver(addresses, id, frame, from, exclude, seqs);
      return count + framedCount;
    },

    opening(framer, upgrade, since) {
      openingFramer = framer;
      openingSince = since;
      try {
        upgrade();
      } finally {
        openingFramer = GOCTOPUS;
        openingSince = undefined;
      }
    },

    nativeOf,

    subscribe(ws, topic) {
      const state = nativeOf(ws);
      if (state === undefined || ws.getUserData().closed || state.subscribed.has(topic)) return false;
      state.subscribed.add(topic);
      laneOf(state.framer).add(ws, topic);
      return true;
    },

    unsubscribe(ws, topic) {
      const state = nativeOf(ws);
      if (state === undefined || !state.subscribed.delete(topic)) return false;
      laneOf(state.framer).remove(ws, topic);
      return true;
    },

    deliverTo(ws, id, frame, from, via) {
      const data = ws.getUserData();
      if (data.closed) return false;
      if (!isConditioned(frame)) {
        const framer = nativeOf(ws)?.framer ?? GOCTOPUS;
        queueOrSend(ws, id, framer === GOCTOPUS ? frame : framer.frame(via, id, frame, from));
        return true;
      }
      return writeConditioned([ws], () => via, decodeFrame(frame), id, from, undefined, queueOrSend, view.framerOf) === 1;
    },

    send,
    watch(address, listener) {
      let set = watched.get(address);
      if (set === undefined) watched.set(address, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0 && watched.get(address) === set) watched.delete(address);
      };
    },

    bind(framer, on) {
      if (framed.has(framer)) throw new Error(`framer ${framer.name} bound after its first socket`);
      laneOf(framer, on);
    },
    patternKeysOf(ws, id) {
      const known = patternDeliveries.get(id);
      if (known === undefined) return [];
      const mine: KeyMatcher[] = [];
      const state = nativeOf(ws);
      // A framed socket's patterns are compiled and kept by its protocol's set.
      const lane = state === undefined ? undefined : laneOf(state.framer);
      for (const key of ws.getUserData().keys) {
        const matches = lane === undefined ? patterns.get(key) : lane.patternOf(key);
        if (matches !== undefined) mine.push(matches);
      }
      return known.filter((key) => mine.some((matches) => matches(key)));
    },
    has(key) {
      if (byKey.has(key)) return true;
      if (natives.size > 0) for (const lane of framed.values()) if (lane.has(key)) return true;
      if (patterns.size === 0) return false;
      for (const [pattern, matches] of patterns) if (sameNamespace(pattern, key) && matches(key)) return true;
      return false;
    },
    presence() {
      const counts = new Map<string, number>();
      for (const [key, set] of byKey) counts.set(key, set.size);
      for (const lane of framed.values()) lane.countInto(counts);
      return counts;
    },
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

function bump(counts: Map<string, number>, key: string, delta: number): void {
  const n = (counts.get(key) ?? 0) + delta;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}
