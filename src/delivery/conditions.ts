// Delivery conditions: a message's claim filter, its excluded connection (`exclude_connection`) and
// a binary body, carried INSIDE its frame string, encoded and decoded here only. Because they ride
// in the frame, every path a frame takes carries them unchanged with no other code knowing: the
// held stores (memory, state file, Redis strings), the bus (the Lua scripts publish the frame as
// given, and re-publish it when they promote an unconfirmed message) and the hub.
//
//   plain frame:        {"id":…,"payload":…}                      (every message without conditions)
//   conditioned frame:  \u0002 <JSON header> \n <body>
//     header: {"f": FilterSpec?, "x": connection id?, "b": 1?}
//     body:   the plain frame, or for a binary message its bytes in base64
//
// A plain frame always starts with '{' (frameOf), so one character tells them apart: the hot path
// (a message without conditions) pays one charCodeAt. An older node that receives a conditioned
// frame would write it as text to its sockets: roll every node before publishing with conditions
// (docs/scale-out.md).
import { compileFilter, matchesFilter, type Filter, type FilterSpec } from './filter.js';
import type { Connection } from '../socket/connection.js';

const MARK = 2;
const MARK_TEXT = '\u0002';

export interface ConditionsSpec {
  readonly filter?: FilterSpec | undefined;
  /** A connection id (`<node>-<n>`): every socket but that one receives the message. */
  readonly excludeConnection?: string | undefined;
  /** The message is these bytes, written as a binary frame with no envelope. */
  readonly binary?: Uint8Array | undefined;
}

/** A conditioned frame, decoded once per message per node (never per socket). */
export interface Conditions {
  readonly filter: Filter | undefined;
  /** The excluded connection's node and number, compared per socket without building its id. */
  readonly excludeNode: string | undefined;
  readonly excludeConn: number;
  /** The binary body, or undefined for a JSON message. */
  readonly binary: Uint8Array | undefined;
  /** The plain frame `{"id":…,"payload":…}`; for a binary message, its payload is the base64 text. */
  readonly frame: string;
  /** Undecodable (not written by this module): delivered to nobody, and logged by the caller. */
  readonly broken: boolean;
}

export function isConditioned(frame: string): boolean {
  return frame.charCodeAt(0) === MARK;
}

/** The frame to publish and hold: `frame` itself when there are no conditions. */
export function encodeFrame(frame: string, spec: ConditionsSpec): string {
  if (spec.filter === undefined && spec.excludeConnection === undefined && spec.binary === undefined) return frame;
  const header: { f?: FilterSpec; x?: string; b?: 1 } = {};
  if (spec.filter !== undefined) header.f = spec.filter;
  if (spec.excludeConnection !== undefined) header.x = spec.excludeConnection;
  if (spec.binary !== undefined) header.b = 1;
  const body = spec.binary === undefined ? frame : Buffer.from(spec.binary.buffer, spec.binary.byteOffset, spec.binary.byteLength).toString('base64');
  return `${MARK_TEXT}${JSON.stringify(header)}\n${body}`;
}

const BROKEN: Conditions = Object.freeze({ filter: undefined, excludeNode: undefined, excludeConn: 0, binary: undefined, frame: '{}', broken: true });

/** Decodes a conditioned frame (isConditioned). Never throws: a frame this module did not write
 * decodes as `broken`. */
export function decodeFrame(text: string): Conditions {
  const newline = text.indexOf('\n');
  if (newline < 0) return BROKEN;
  let header: { f?: unknown; x?: unknown; b?: unknown };
  try {
    header = JSON.parse(text.slice(1, newline)) as typeof header;
    if (typeof header !== 'object' || header === null) return BROKEN;
  } catch {
    return BROKEN;
  }
  let filter: Filter | undefined;
  try {
    filter = header.f === undefined ? undefined : compileFilter(header.f);
  } catch {
    return BROKEN;
  }
  const body = text.slice(newline + 1);
  const binary = header.b === 1 ? new Uint8Array(Buffer.from(body, 'base64')) : undefined;
  let excludeNode: string | undefined;
  let excludeConn = 0;
  if (typeof header.x === 'string') {
    const dash = header.x.lastIndexOf('-');
    excludeNode = header.x.slice(0, dash);
    excludeConn = parseInt(header.x.slice(dash + 1), 36);
  }
  return { filter, excludeNode, excludeConn, binary, frame: binary === undefined ? body : `{"payload":${JSON.stringify(body)}}`, broken: false };
}

/** Whether a socket receives a conditioned message: not the excluded connection, and its claims
 * match the filter (one claims walk). */
export function admits(conditions: Conditions, data: Connection): boolean {
  if (conditions.broken) return false;
  if (conditions.excludeNode !== undefined && data.conn === conditions.excludeConn && data.node === conditions.excludeNode) return false;
  return conditions.filter === undefined || matchesFilter(conditions.filter, data.identity.claims);
}

/** The plain frame of a stored or published frame (for the admin API's payload): a binary
 * message's payload is its base64 text. */
export function plainFrame(frame: string): string {
  return isConditioned(frame) ? decodeFrame(frame).frame : frame;
}

/** Held messages a joining socket may receive, and those it may not (a filter it does not match):
 * those stay held for the others, in order (the caller puts them back). Plain frames cost one
 * character read each. */
export function splitHeld<T extends { readonly frame: string }>(held: readonly T[], data: Connection): { admitted: T[]; refused: T[] } {
  if (!held.some((m) => isConditioned(m.frame))) return { admitted: held as T[], refused: [] };
  const admitted: T[] = [];
  const refused: T[] = [];
  for (const m of held) (!isConditioned(m.frame) || admits(decodeFrame(m.frame), data) ? admitted : refused).push(m);
  return { admitted, refused };
}
