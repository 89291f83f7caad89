// Writing a conditioned message (delivery/conditions.ts: a claim filter, an excluded connection, a
// binary body) to the sockets its addresses reach on this node. It cannot go through uWS's publish
// (which writes to every subscriber of a topic), so it takes the per-socket path, kept cheap: the
// frame was decoded and its filter compiled once for the message; per socket, one check of the
// excluded connection (two field reads) and one walk of its claims; each protocol's frame is
// built once per address it is reached through, never per socket.
import type { Socket } from '../socket/connection.js';
import { admits, type Conditions } from './conditions.js';
import { GOCTOPUS, type Framer } from './framer.js';

export type QueueOrSend = (ws: Socket, id: string, frame: string | Uint8Array) => void;

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
    const { framer } = data;
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
