// Framers: how a message is written for the sockets of one wire protocol. Every socket speaks one
// (its Connection's `framer`); the hub keeps each protocol's sockets on uWS topics named `tag +
// address`, and builds a protocol's frame for a message only when sockets of that protocol are on
// one of the message's addresses. Goctopus's tag is '', so Goctopus sockets sit on the address
// itself and its frame is the message's own `frame`: the single-key hot path is one app.publish.
// Each protocol adapter (src/protocols) adds a Framer; it owns no delivery logic.
import { parseAddress } from './address.js';

export interface Framer {
  /** The subprotocol name a client offers for it ('' for Goctopus: any other offer). */
  readonly name: string;
  /** Prefix of its sockets' uWS topics. Never a prefix an address may start with: '' (Goctopus)
   * or '\u0001' then a name then NUL (no name holds NUL, and addresses start with NUL or a name). */
  readonly tag: string;
  /**
   * The frame a socket of this protocol receives for message `id`, reached through `address`
   * (for a pattern socket, the key that matched). `frame` is the Goctopus frame
   * `{"id":…,"payload":…}` the message was published (or held) with; `from`, the connection id of
   * a client that published it; `seq`, its position in the address's stream (history on only).
   * Called once per message and address, never per socket.
   */
  frame(address: string, id: string, frame: string, from: string | undefined, seq?: number): string;
  /** A binary message (a `Content-Type: application/octet-stream` publish): what a socket of this
   * protocol receives, built once per message and address. Absent: the bytes as they are, in one
   * binary frame with no envelope (Goctopus and v2). A protocol whose clients cannot take binary
   * frames may wrap them (a string is sent as a text frame). */
  binary?(address: string, id: string, body: Uint8Array): string | Uint8Array;
}

export const GOCTOPUS: Framer = Object.freeze({
  name: '',
  tag: '',
  frame: (_address: string, _id: string, frame: string) => frame,
});

/** The subprotocol of Octoway's native protocol, version 2 (docs/protocol.md). */
export const V2_SUBPROTOCOL = 'octoway.v2';

/**
 * `{"type":"message","id":…,"key"|"topic"|"user":…|"user":…,"session":…[,"seq":…],"payload":…[,"from":…]}`. The payload's JSON text is cut
 * out of the Goctopus frame, never parsed again: frameOf builds that frame with one
 * JSON.stringify({id, payload}), so it is exactly `{"id":<id>,"payload":<payload>}`.
 */
export const V2: Framer = Object.freeze({
  name: V2_SUBPROTOCOL,
  tag: '\u0001v2\u0000',
  frame(address: string, id: string, frame: string, from: string | undefined, seq?: number): string {
    const where = parseAddress(address);
    const idText = JSON.stringify(id);
    const tail = from === undefined ? '}' : `,"from":${JSON.stringify(from)}}`;
    const position = seq === undefined ? '' : `,"seq":${seq}`;
    // A session address names its user and the session: both are said (`"user"` then `"session"`).
    const source = where.kind === 'session'
      ? `"user":${JSON.stringify(where.name)},"session":${JSON.stringify(where.session)}`
      : `"${where.kind}":${JSON.stringify(where.name)}`;
    return `{"type":"message","id":${idText},${source}${position},"payload":${payloadText(frame, idText)}${tail}`;
  },
});

/** The payload's JSON text inside a Goctopus frame (see V2). A frame of another shape (never built
 * by this version) is parsed, so a framer never writes a broken frame. */
export function payloadText(frame: string, idText: string): string {
  const cut = 6 + idText.length; // `{"id":` + id, then `,"payload":` (11 characters)
  if (frame.startsWith('{"id":') && frame.startsWith(idText, 6) && frame.startsWith(',"payload":', cut)) return frame.slice(cut + 11, -1);
  return JSON.stringify((JSON.parse(frame) as { payload?: unknown }).payload ?? null);
}

/** The framer of a subprotocol the client offered, and the one the 101 names. */
export function framerOf(selected: string): Framer {
  return selected === V2_SUBPROTOCOL ? V2 : GOCTOPUS;
}
