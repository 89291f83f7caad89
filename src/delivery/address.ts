// Addresses: the one namespace the delivery engine works in. The hub's uWS topics, the brokers'
// presence and deliver-or-hold decisions, the held-message stores, the Redis keys and the history
// all take an address, never a raw name, so that a topic, a user and a routing key of the same
// name, or the same key in two apps, can never reach each other's sockets.
//
// A routing key of the default app is its own address: the held messages, Redis keys and admin
// listings of a gateway that ran before addresses existed stay valid. Every other address starts
// with NUL, which no name may contain (routing-key.ts), then a kind letter and the app:
//   NUL k <app> NUL <key>               a routing key of another app
//   NUL t <app> NUL <topic>             a topic (live only: never held)
//   NUL u <app> NUL <user>              every socket of a user (held while none is open)
//   NUL s <app> NUL <user> NUL <session> one session of a user (held while none is open)
// A connection is not an address: its id names the node that holds it (socket/connection.ts), so
// a message to one connection is routed to that node, not looked up in a namespace.
import { DEFAULT_APP } from '../socket/connection.js';

export type AddressKind = 'key' | 'topic' | 'user' | 'session';

const LETTER: Record<AddressKind, string> = { key: 'k', topic: 't', user: 'u', session: 's' };
const KIND: Record<string, AddressKind> = { k: 'key', t: 'topic', u: 'user', s: 'session' };
const NUL = '\u0000';

/** App names: lower-case letters, digits, '-' and '_' (they appear in URLs and in pattern keys'
 * addresses, so no pattern metacharacter may occur in them). */
export const APP_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function keyAddress(app: string, key: string): string {
  return app === DEFAULT_APP ? key : `${NUL}k${app}${NUL}${key}`;
}

export function topicAddress(app: string, topic: string): string {
  return `${NUL}t${app}${NUL}${topic}`;
}

export function userAddress(app: string, user: string): string {
  return `${NUL}u${app}${NUL}${user}`;
}

export function sessionAddress(app: string, user: string, session: string): string {
  return `${NUL}s${app}${NUL}${user}${NUL}${session}`;
}

/** What every session address of a user starts with (sessionAddress with the session cut off): no
 * other user's, since a user name never holds NUL. */
export function sessionAddressPrefix(app: string, user: string): string {
  return `${NUL}s${app}${NUL}${user}${NUL}`;
}

/** A publish's message_id as remembered for deduplication: within its app, so the same message_id in
 * two apps is two messages (a default-app id is remembered as it was before apps existed). */
export function messageIdAddress(app: string, id: string): string {
  return keyAddress(app, id);
}

export interface ParsedAddress {
  readonly kind: AddressKind;
  readonly app: string;
  /** The key, topic or user; for a session, the user. */
  readonly name: string;
  /** For a session address only. */
  readonly session?: string;
}

/** What an address names: for logs, the admin API and frames that say where a message came from. */
export function parseAddress(address: string): ParsedAddress {
  if (address.charCodeAt(0) !== 0) return { kind: 'key', app: DEFAULT_APP, name: address };
  const kind = KIND[address[1] as string] ?? 'key';
  const appEnd = address.indexOf(NUL, 2);
  const app = address.slice(2, appEnd);
  const rest = address.slice(appEnd + 1);
  if (kind !== 'session') return { kind, app, name: rest };
  const cut = rest.indexOf(NUL);
  return { kind, app, name: rest.slice(0, cut), session: rest.slice(cut + 1) };
}

/** Whether an address is held for while nobody listens (keys, users, sessions) or live only (topics). */
export function isHoldable(address: string): boolean {
  return address.charCodeAt(0) !== 0 || address[1] !== LETTER.topic;
}

/** Whether a name may be used as a key, topic, user or session: never containing NUL, the
 * separator of addresses. */
export function hasNoSeparator(name: string): boolean {
  return !name.includes(NUL);
}

/** Whether two addresses are of the same kind and app: a pattern key (key-pattern.ts) may only
 * match addresses of its own namespace (`*` in the default app must never match a topic). */
export function sameNamespace(a: string, b: string): boolean {
  const aPlain = a.charCodeAt(0) !== 0;
  if (aPlain || b.charCodeAt(0) !== 0) return aPlain && b.charCodeAt(0) !== 0;
  const end = a.indexOf(NUL, 2);
  return b.indexOf(NUL, 2) === end && a.slice(0, end) === b.slice(0, end);
}
