// A published message and the one text frame every socket of its keys receives.
import { randomUUID } from 'node:crypto';
import type { Socket } from '../socket/connection.js';

export interface Message {
  /** The backend's message_id when given (so retries keep it), else a fresh UUID. */
  readonly id: string;
  /** Holdable addresses (delivery/address.ts): routing keys today. May be empty when topics are given. */
  readonly keys: readonly string[];
  /** Topic addresses: live only, never held (their subscribers now get it, nobody else ever will).
   * Absent on a message to keys only, so that path reads one field more and nothing else. */
  readonly topics?: readonly string[];
  /** The connection id of the client that published it (a v2 `publish` frame). */
  readonly from?: string;
  /** That client's socket, when it must not get its own message back (no `echo`). Never leaves
   * the node: over Redis the broker finds it again by the message id. */
  readonly exclude?: Socket;
  /** One connection to write it to (`connection`), routed to the node that holds it (its id's
   * node part) over the control plane (delivery/connection-targets.ts); dropped and counted when
   * that socket is gone. Absent on every other message. */
  readonly connection?: { readonly app: string; readonly id: string };
  /** `{"id":…,"payload":…}`: serialised once per message, never once per socket. A message with a
   * claim filter, an excluded connection or a binary body carries them inside it (conditions.ts). */
  readonly frame: string;
  readonly createdAt: number;
  /** How long to hold it for keys with no open socket; 0 = deliver to open sockets only. */
  readonly expireMs: number;
  /** `expire` as posted (or WS_MSG_EXPIRE's text): shown back as Goctopus's `exp`. */
  readonly expire: string;
  /** Whether the id came from the backend (so a retry must be recognised). */
  readonly idempotent: boolean;
  /** Stream positions (docs/protocol.md, Recovery): the message's `seq` in each of its addresses'
   * streams, aligned with `[...keys, ...topics]`. Set only when the history is on (WS_HISTORY_SIZE),
   * by the memory history before it is delivered; over Redis the publish scripts assign them and
   * the bus carries them, so this stays absent there. */
  readonly seqs?: readonly number[];
}

export interface PublishResult {
  readonly id: string;
  /** Sockets the message was written to (a socket holding several of its keys counts once). */
  readonly delivered: number;
  /** Keys it was stored for. */
  readonly held: number;
  /** Present and true when this was a retry of a message_id already accepted. */
  readonly duplicate?: true;
  /** A `connection` target: 1 when that socket is gone (nothing written to it, nothing held). */
  readonly dropped?: number;
}

/** Builds the browser frame in one JSON.stringify: one pass over the value, and a flat string
 * (concatenation would leave a rope of several heap objects in every held message). */
export function frameOf(id: string, value: unknown): string {
  return JSON.stringify({ id, payload: value });
}

/** The value inside a frame built by frameOf; for the admin API, never the hot path. */
export function payloadOf(frame: string): unknown {
  return (JSON.parse(frame) as { payload: unknown }).payload;
}

export function newMessageId(): string {
  return randomUUID();
}

/** The longest a message may be held (`expire`, WS_MSG_EXPIRE): one year. Far enough for any
 * offline-user use, and small enough that every timestamp derived from it stays a valid Date and
 * an exact integer in Redis scores and Lua, which a many-digit `expire` broke (a 500 on listing,
 * a false 503 on publish). */
export const MAX_EXPIRE_MS = 365 * 86_400_000;
export const MAX_EXPIRE_TEXT = '365d';

/** The `expire` text kept with a held message: as posted, unless it is absurdly long (stores keep
 * it with every entry), then the same duration in milliseconds. */
export function expireText(posted: string, ms: number): string {
  const text = posted.trim();
  return text.length <= 32 ? text : `${Math.ceil(ms)}ms`;
}

/** `exp` for a message stored without its text (by an older version): the same duration. */
export function expireOfTimes(createdAt: number, expiresAt: number): string {
  return `${Math.max(0, Math.round(expiresAt - createdAt))}ms`;
}
