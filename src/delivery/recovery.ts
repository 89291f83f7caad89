// Recovery (docs/protocol.md, Recovery): a v2 client that says which position of a stream it saw
// last (`since`: a topic's in its subscribe frame, a key's in the connect URL) gets the stream's
// messages after it from the history, in order, before live ones, with no duplicate and no hole; or,
// when the history no longer reaches back (or the position is unknown to it), a `gap` frame and
// then live messages. Works the same on one node and over Redis: the history's read guarantees
// (History.read) plus a watcher started before it (hub.watch) or the socket's own queue (a
// connecting socket's `pending`) cover every message of the stream exactly once.
import type { Logger } from '../log.js';
import { connectionId, type Socket } from '../socket/connection.js';
import { parseAddress } from './address.js';
import type { HeldMessage } from './held-store.js';
import type { History, HistoryEntry, StreamHistory } from './history.js';
import type { Hub } from './hub.js';
import { GOCTOPUS } from './framer.js';
import { admits, decodeFrame, isConditioned } from './conditions.js';
import { frameOfConditioned } from './conditioned-delivery.js';

/** The entries a client that saw up to `since` is missing, oldest first, or 'gap' when the history
 * cannot say: `since` is ahead of the stream (unknown to it: a stream restarted after WS_HISTORY_TTL
 * of silence, or another app's), or the oldest entry kept is later than `since + 1`. */
export function missedSince(stream: StreamHistory, since: number): readonly HistoryEntry[] | 'gap' {
  if (since === stream.last) return [];
  if (since > stream.last) return 'gap';
  const first = stream.entries[0];
  if (first === undefined || first.seq === 0 || first.seq > since + 1) return 'gap';
  return stream.entries.filter((entry) => entry.seq > since);
}

/** `{"type":"gap","key"|"topic":…,"since":…,"seq":…}`: what the client asked from, and the stream's
 * position now (the messages up to it are lost to the client; live ones follow). */
export function gapFrame(address: string, since: number, last: number): string {
  const where = parseAddress(address);
  return `{"type":"gap","${where.kind}":${JSON.stringify(where.name)},"since":${since},"seq":${last}}`;
}

export interface RecoveryContext {
  readonly hub: Hub;
  readonly history: History;
  readonly log: Logger;
}

/**
 * A live (or syncing) v2 socket subscribes to `address` from `since`: what it missed, then live. The
 * messages delivered meanwhile are watched (queued here) while the history is read; once read, in
 * one tick: the gap frame or the missed entries, then the queued messages after the last of them,
 * then the socket is put under the address, so the next message reaches it live.
 * `stillWanted`, called once the history is read, says whether the client still wants the topic (it
 * may have unsubscribed meanwhile): if not, nothing is written. Resolves once done (or the socket
 * closed); never rejects: a history that fails gives a gap.
 */
export async function recoverTopic(context: RecoveryContext, ws: Socket, address: string, since: number, stillWanted: () => boolean = () => true): Promise<void> {
  const { hub, history, log } = context;
  const queue: Array<{ id: string; frame: string; from: string | undefined; seq: number | undefined }> = [];
  const stop = hub.watch(address, (id, frame, from, seq) => queue.push({ id, frame, from, seq }));
  let stream: StreamHistory | undefined;
  try {
    stream = await history.read(address);
  } catch (err) {
    log.warn({ err, conn: connectionId(ws.getUserData()) }, 'could not read a stream\'s history to recover it; the client gets a gap');
  } finally {
    stop();
  }
  const data = ws.getUserData();
  if (!stillWanted() || data.closed) return;
  const framer = hub.nativeOf(ws)?.framer ?? GOCTOPUS;
  /** One message of the stream as this socket receives it; undefined when its conditions (a
   * filter, exclude_connection: conditions.ts) leave this socket out. */
  const frameFor = (id: string, frame: string, from: string | undefined, seq: number | undefined): string | Uint8Array | undefined => {
    if (!isConditioned(frame)) return framer.frame(address, id, frame, from, seq);
    const conditions = decodeFrame(frame);
    return admits(conditions, data) ? frameOfConditioned(conditions, framer, address, id, from) : undefined;
  };
  const frames: Array<{ id: string; frame: string | Uint8Array }> = [];
  let last = since;
  const missed = stream === undefined ? 'gap' : missedSince(stream, since);
  if (missed === 'gap') {
    // What the history held (recorded before it was read) is lost to the client; what came later is not.
    last = stream?.last ?? 0;
    frames.push({ id: '', frame: gapFrame(address, since, last) });
  } else {
    for (const entry of missed) {
      const frame = frameFor(entry.id, entry.frame, undefined, entry.seq);
      if (frame !== undefined) frames.push({ id: entry.id, frame });
      last = entry.seq;
    }
  }
  for (const { id, frame, from, seq } of queue) {
    // Seen in the history already (a message that reached the hub while it was read).
    if (seq !== undefined && seq <= last) continue;
    const written = frameFor(id, frame, from, seq);
    if (written !== undefined) frames.push({ id, frame: written });
    if (seq !== undefined) last = seq;
  }
  writeAll(hub, ws, frames);
  if (!data.closed) hub.subscribe(ws, address);
}

/** A syncing socket's frames join its queue (written at goLive, in order); a live one's go now. */
function writeAll(hub: Hub, ws: Socket, frames: ReadonlyArray<{ id: string; frame: string | Uint8Array }>): void {
  for (const item of frames) {
    const data = ws.getUserData();
    if (data.closed) return;
    if (data.pending !== undefined) data.pending.push(item);
    else if (!hub.send(ws, item.frame)) return;
  }
}

/**
 * A connecting v2 socket's keys with `since` (from its connect URL): what goLive writes, given the
 * held messages its join returned. The socket is syncing, so every live message of its keys since
 * it was added queues (goLive skips those it writes here, by id); the history is read after that.
 * Gap frames are written at once (before anything of the key). Returns the held messages not among
 * the missed ones, then the missed ones, oldest first per key, with their seq.
 */
export async function recoverKeys(context: RecoveryContext, ws: Socket, since: ReadonlyMap<string, number>, held: readonly HeldMessage[]): Promise<Array<{ id: string; frame: string; key?: string; seq?: number }>> {
  const { history, log } = context;
  const missed: Array<{ id: string; frame: string; key: string; seq: number }> = [];
  await Promise.all([...since].map(async ([address, from]) => {
    let stream: StreamHistory | undefined;
    try {
      stream = await history.read(address);
    } catch (err) {
      log.warn({ err, conn: connectionId(ws.getUserData()) }, 'could not read a key\'s history to recover it; the client gets a gap');
    }
    const entries = stream === undefined ? 'gap' : missedSince(stream, from);
    const data = ws.getUserData();
    if (entries === 'gap') {
      if (!data.closed) ws.send(gapFrame(address, from, stream?.last ?? 0), false);
      return;
    }
    for (const entry of entries) {
      // A message whose filter (or exclude_connection) leaves this socket out is not its to recover.
      if (isConditioned(entry.frame) && !admits(decodeFrame(entry.frame), data)) continue;
      missed.push({ id: entry.id, frame: entry.frame, key: address, seq: entry.seq });
    }
  }));
  if (missed.length === 0) return [...held];
  const replayed = new Set(missed.map((m) => m.id));
  return [...held.filter((m) => !replayed.has(m.id)), ...missed];
}
