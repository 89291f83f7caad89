// Writing a conditioned message (delivery/conditions.ts: a claim filter, an excluded connection, a
// binary body) to the sockets its addresses reach on this node. It cannot go through uWS's publish
// (which writes to every subscriber of a topic), so it takes the per-socket path, kept cheap: the
// frame was decoded and its filter compiled once for the message; per socket, one check of the
// excluded connection (two field reads) and one walk of its claims; each protocol's frame is
// built once per address it is reached through, never per socket.
import type { LRUCache } from 'lru-cache';
import type { Socket } from '../socket/connection.js';
import { sameNamespace } from './address.js';
import { admits, type Conditions } from './conditions.js';
import type { FramedSockets } from './framed-sockets.js';
import { GOCTOPUS, type Framer } from './framer.js';
import type { KeyMatcher } from './key-pattern.js';

export type QueueOrSend = (ws: Socket, id: string, frame: string | Uint8Array) => void;

/** What this module reads of the hub (hub.ts): its Goctopus sockets by key and their patterns, its
 * framed protocols' sockets, its memory of pattern deliveries, and its writer. */
export interface HubView {
  readonly byKey: ReadonlyMap<string, Set<Socket>>;
  readonly patterns: ReadonlyMap<string, KeyMatcher>;
  readonly framed: ReadonlyMap<Framer, FramedSockets>;
  /** Sockets speaking a protocol other than Goctopus's, here. */
  readonly framedCount: () => number;
  /** The protocol a socket speaks (the hub keeps it for those not speaking Goctopus's). */
  readonly framerOf: (ws: Socket) => Framer;
  readonly patternDeliveries: LRUCache<string, readonly string[]>;
  readonly queueOrSend: QueueOrSend;
}

/** A conditioned message (conditions.ts): every socket of its addresses (or of a pattern matching
 * one) here, each once, written one by one where its conditions admit it; returns how many. */
export function deliverConditioned(hub: HubView, keys: readonly string[], id: string, conditions: Conditions, from: string | undefined, exclude: Socket | undefined): number {
  const { byKey, patterns, queueOrSend } = hub;
  // One key, no pattern, no framed socket (fanout-filter): its set as it is, nothing collected.
  if (keys.length === 1 && patterns.size === 0 && hub.framedCount() === 0) {
    const key = keys[0] as string;
    const set = byKey.get(key);
    return set === undefined ? 0 : writeConditioned(set, () => key, conditions, id, from, exclude, queueOrSend, hub.framerOf);
  }
  const targets = new Map<Socket, string>();
  for (const key of keys) {
    const set = byKey.get(key);
    if (set !== undefined) for (const ws of set) if (!targets.has(ws)) targets.set(ws, key);
  }
  let matched = false;
  for (const [pattern, matches] of patterns) {
    const via = keys.find((key) => sameNamespace(pattern, key) && matches(key));
    if (via === undefined) continue;
    matched = true;
    for (const ws of byKey.get(pattern) as Set<Socket>) if (!targets.has(ws)) targets.set(ws, via);
  }
  if (hub.framedCount() > 0) for (const lane of hub.framed.values()) matched = lane.collect(keys, targets) || matched;
  if (matched) hub.patternDeliveries.set(id, keys);
  return writeConditioned(targets.keys(), (ws) => targets.get(ws) as string, conditions, id, from, exclude, queueOrSend, hub.framerOf);
}

/** Writes (or queues, for a syncing socket) the message to each target it admits, but never to
 * `exclude`; `targets`: each socket once, `viaOf` the address it was reached through. Returns how
 * many it was written to. Allocates nothing per socket (a frame per protocol and address). */
export function writeConditioned(
  targets: Iterable<Socket>,
  viaOf: (ws: Socket) => string,
  conditions: Conditions,
  id: string,
  from: string | undefined,
  exclude: Socket | undefined,
  queueOrSend: QueueOrSend,
  framerOf: (ws: Socket) => Framer,
): number {
  let count = 0;
  let framed: Map<Framer, Map<string, string | Uint8Array>> | undefined;
  const frameFor = (framer: Framer, via: string): string | Uint8Array => {
    framed ??= new Map();
    let byVia = framed.get(framer);
    if (byVia === undefined) framed.set(framer, (byVia = new Map()));
    let frame = byVia.get(via);
    if (frame === undefined) byVia.set(via, (frame = frameOfConditioned(conditions, framer, via, id, from)));
    return frame;
  };
  const { binary } = conditions;
  for (const ws of targets) {
    const data = ws.getUserData();
    if (ws === exclude || data.closed || !admits(conditions, data)) continue;
    const framer = framerOf(ws);
    const frame = framer === GOCTOPUS ? binary ?? conditions.frame : binary !== undefined && framer.binary === undefined ? binary : frameFor(framer, viaOf(ws));
    queueOrSend(ws, id, frame);
    count++;
  }
  return count;
}

/** The frame one socket receives for a held (or directly sent) conditioned message reached
 * through `via`: its bytes when binary, else its protocol's frame. */
export function frameOfConditioned(conditions: Conditions, framer: Framer, via: string, id: string, from: string | undefined): string | Uint8Array {
  if (conditions.binary !== undefined) return framer.binary === undefined ? conditions.binary : framer.binary(via, id, conditions.binary);
  return framer === GOCTOPUS ? conditions.frame : framer.frame(via, id, conditions.frame, from);
}
