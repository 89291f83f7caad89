// The sockets of one framed protocol (any but Goctopus, whose sockets the hub keeps itself) by
// address: their routing keys and, for v2, the topics they subscribed to. A message is framed for
// the protocol once per address that has sockets here, never per socket, and never when none has:
// a single address goes out through one uWS publish on `tag + address`; several addresses (or a
// pattern) are written socket by socket, so a socket under two of them gets the message once.
import type { TemplatedApp } from 'uWebSockets.js';
import type { LRUCache } from 'lru-cache';
import type { Socket } from '../socket/connection.js';
import { isHoldable, sameNamespace } from './address.js';
import type { Framer } from './framer.js';
import { compilePattern, isPattern, type KeyMatcher } from './key-pattern.js';

export interface FramedSockets {
  readonly framer: Framer;
  /** Puts the socket under an address; a live socket is subscribed at once, a syncing one at goLive. */
  add(ws: Socket, address: string): void;
  /** Takes the socket from under an address (the socket stays open). */
  remove(ws: Socket, address: string): void;
  /** The socket's addresses moved from syncing to live: subscribes it to each. */
  live(ws: Socket, addresses: Iterable<string>): void;
  /** The socket goes back to syncing: unsubscribes it from each. */
  resync(ws: Socket, addresses: Iterable<string>): void;
  /** Writes message `id` to every socket here under one of `addresses` (or a pattern matching one
   * of them), once per socket, but never to `exclude`; returns how many. `seqs`: the message's
   * position in each address's stream, aligned with `addresses` (history on only). */
  deliver(addresses: readonly string[], id: string, frame: string, from: string | undefined, exclude: Socket | undefined, seqs?: readonly number[]): number;
  /** Adds to `into` each socket here under one of `addresses` (or a pattern matching one), with
   * the address it is reached through, unless it is there already (a conditioned message: the hub
   * writes it per socket, conditioned-delivery.ts). Returns whether a pattern matched. */
  collect(addresses: readonly string[], into: Map<Socket, string>): boolean;
  has(address: string): boolean;
  /** The compiled matcher of a pattern key some socket here is under. */
  patternOf(address: string): KeyMatcher | undefined;
  /** Adds this protocol's sockets per key address to `counts`. */
  countInto(counts: Map<string, number>): void;
  /** Addresses with at least one socket here. */
  readonly addressCount: number;
}

export interface FramedContext {
  readonly app: TemplatedApp;
  readonly compress: boolean;
  /** Writes a frame now, or queues it for a socket still syncing (the hub's). */
  readonly queueOrSend: (ws: Socket, id: string, frame: string | Uint8Array) => void;
  /** Counts frames uWS wrote in one publish (the hub's `written`). */
  readonly wrote: (frames: number) => void;
  /** The hub's memory of which keys a message written to a pattern socket was published to. */
  readonly patternDeliveries: LRUCache<string, readonly string[]>;
}

export function createFramedSockets(framer: Framer, context: FramedContext): FramedSockets {
  const { app, compress, queueOrSend, wrote, patternDeliveries } = context;
  const { tag } = framer;
  const byAddress = new Map<string, Set<Socket>>();
  /** Per address, its sockets still syncing (whose frames queue): none in the common case. */
  const syncing = new Map<string, number>();
  const patterns = new Map<string, KeyMatcher>();

  const bump = (address: string, delta: number): void => {
    const n = (syncing.get(address) ?? 0) + delta;
    if (n > 0) syncing.set(address, n);
    else syncing.delete(address);
  };

  /** One address: its syncing sockets' queues, then one uWS publish for the live ones. */
  const deliverOne = (address: string, set: Set<Socket>, id: string, frame: string, exclude: Socket | undefined): number => {
    let skipped = 0;
    if (syncing.has(address)) {
      for (const ws of set) {
        const pending = ws.getUserData().pending;
        if (pending !== undefined) {
          if (ws !== exclude) pending.push({ id, frame });
          skipped++;
        }
      }
    }
    // uWS's ws.publish writes to every subscriber but the socket itself: the sender's no-echo.
    const self = exclude !== undefined && set.has(exclude) && exclude.getUserData().pending === undefined && !exclude.getUserData().closed;
    if (self) (exclude as Socket).publish(tag + address, frame, false, compress);
    else app.publish(tag + address, frame, false, compress);
    wrote(set.size - skipped - (self ? 1 : 0));
    return set.size - (exclude !== undefined && set.has(exclude) ? 1 : 0);
  };

  const deliverMany = (addresses: readonly string[], id: string, frame: string, from: string | undefined, exclude: Socket | undefined, seqs: readonly number[] | undefined): number => {
    const targets = new Map<Socket, string>();
    const collect = (set: Set<Socket> | undefined, via: string): void => {
      if (set === undefined) return;
      let framed: string | undefined;
      for (const ws of set) {
        if (ws === exclude || targets.has(ws)) continue;
        framed ??= framer.frame(via, id, frame, from, seqs?.[addresses.indexOf(via)]);
        targets.set(ws, framed);
      }
    };
    for (const address of addresses) collect(byAddress.get(address), address);
    let matched = false;
    for (const [pattern, matches] of patterns) {
      const via = addresses.find((address) => sameNamespace(pattern, address) && matches(address));
      if (via === undefined) continue;
      matched = true;
      collect(byAddress.get(pattern), via);
    }
    if (matched) patternDeliveries.set(id, addresses.filter(isHoldable));
    for (const [ws, framed] of targets) queueOrSend(ws, id, framed);
    return targets.size;
  };

  return {
    framer,
    add(ws, address) {
      let set = byAddress.get(address);
      if (set === undefined) {
        byAddress.set(address, (set = new Set()));
        if (isHoldable(address) && isPattern(address)) patterns.set(address, compilePattern(address));
      }
      if (set.has(ws)) return;
      set.add(ws);
      if (ws.getUserData().pending !== undefined) bump(address, +1);
      else ws.subscribe(tag + address);
    },
    remove(ws, address) {
      const set = byAddress.get(address);
      if (set === undefined || !set.delete(ws)) return;
      const data = ws.getUserData();
      if (data.pending !== undefined) bump(address, -1);
      else if (!data.closed) ws.unsubscribe(tag + address);
      if (set.size === 0) {
        byAddress.delete(address);
        patterns.delete(address);
      }
    },
    live(ws, addresses) {
      for (const address of addresses) {
        bump(address, -1);
        ws.subscribe(tag + address);
      }
    },
    resync(ws, addresses) {
      for (const address of addresses) {
        bump(address, +1);
        ws.unsubscribe(tag + address);
      }
    },
    deliver(addresses, id, frame, from, exclude, seqs) {
      if (byAddress.size === 0) return 0;
      if (addresses.length === 1 && patterns.size === 0) {
        const address = addresses[0] as string;
        const set = byAddress.get(address);
        return set === undefined ? 0 : deliverOne(address, set, id, framer.frame(address, id, frame, from, seqs?.[0]), exclude);
      }
      return deliverMany(addresses, id, frame, from, exclude, seqs);
    },
    collect(addresses, into) {
      const add = (set: Set<Socket> | undefined, via: string): void => {
        if (set !== undefined) for (const ws of set) if (!into.has(ws)) into.set(ws, via);
      };
      for (const address of addresses) add(byAddress.get(address), address);
      let matched = false;
      for (const [pattern, matches] of patterns) {
        const via = addresses.find((address) => sameNamespace(pattern, address) && matches(address));
        if (via === undefined) continue;
        matched = true;
        add(byAddress.get(pattern), via);
      }
      return matched;
    },
    has(address) {
      if (byAddress.has(address)) return true;
      for (const [pattern, matches] of patterns) if (sameNamespace(pattern, address) && matches(address)) return true;
      return false;
    },
    patternOf: (address) => patterns.get(address),
    countInto(counts) {
      // Keys only, as Redis's presence: topics have no presence of their own (yet).
      for (const [address, set] of byAddress) if (isHoldable(address)) counts.set(address, (counts.get(address) ?? 0) + set.size);
    },
    get addressCount() {
      return byAddress.size;
    },
  };
}
