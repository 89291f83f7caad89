// Goctopus's admin endpoints on `/`: list and remove held messages. Behind the publish credentials.
// Each app's admin sees its own keys only, by name (http/app-scope.ts).
import { OctowayError } from '../errors.js';
import { keyAddress, parseAddress, sessionAddress, sessionAddressPrefix, userAddress } from '../delivery/address.js';
import { keyNameIn } from './app-scope.js';
import { checkParameters } from './exchange.js';
import type { HeldStore } from '../delivery/held-store.js';
import type { History } from '../delivery/history.js';
import { payloadOf } from '../delivery/message.js';
import { plainFrame } from '../delivery/conditions.js';

/** Goctopus's item (`id`, `key`, `payload`, `date`, `exp`) with Octoway's two times beside it. */
export interface HeldMessageView {
  id: string;
  key: string;
  payload: unknown;
  /** Goctopus: when it was published (RFC 3339). */
  date: string;
  /** Goctopus: `expire` as posted (WS_MSG_EXPIRE's text when it was not). */
  exp: string;
  created_at: string;
  expires_at: string;
}

/** Which app's keys an admin request reads and removes. `alone`: the gateway has no other app, so
 * removing everything may be the store's one atomic call. */
export interface AdminScope {
  readonly app: string;
  readonly alone: boolean;
}

/** The app's keys among the store's, by name. */
async function appKeys(store: HeldStore, app: string): Promise<Array<{ key: string; count: number; address: string }>> {
  const mine: Array<{ key: string; count: number; address: string }> = [];
  for (const { key: address, count } of await store.keys()) {
    const key = keyNameIn(app, address);
    if (key !== undefined) mine.push({ key, count, address });
  }
  return mine;
}

/** `GET /` lists the keys with held messages (Goctopus's array of strings); `GET /?counts` the same
 * keys with how many each holds; `GET /?key=K` one key's messages, oldest first. */
export async function listHeld(store: HeldStore, query: URLSearchParams, scope: AdminScope): Promise<unknown> {
  checkParameters(query, ['key', 'counts', 'user', 'session']);
  if (query.has('user') || query.has('session')) return listUserHeld(store, query, scope);
  const key = query.get('key');
  if (key === null) {
    const keys = await appKeys(store, scope.app);
    return query.has('counts') ? keys.map((k) => ({ key: k.key, count: k.count })) : keys.map((k) => k.key);
  }
  if (query.has('counts')) throw new OctowayError('INVALID_QUERY', '"counts" lists every key: it does not take "key"');
  if (key === '') throw new OctowayError('INVALID_QUERY', '"key" must not be empty');
  const messages = await store.list(keyAddress(scope.app, key));
  return messages.map((m): HeldMessageView => {
    const date = new Date(m.createdAt).toISOString();
    return {
      id: m.id, key, payload: payloadOf(plainFrame(m.frame)), date, exp: m.expire, created_at: date, expires_at: new Date(m.expiresAt).toISOString(),
    };
  });
}

/** A message held for a user (or one of their sessions): the key view's fields with `user` and
 * `session` (null for a message to every socket of the user) where a key's has `key`. */
export type UserHeldMessageView = Omit<HeldMessageView, 'key'> & { user: string; session: string | null };

/** `GET /?user=U`: the messages held for user U (published with `user` while none of their sockets
 * was open) and for each of U's sessions, each address's oldest first; `GET /?user=U&session=S`: that
 * session's only. `GET /` lists keys only (Goctopus's shape), never users. */
async function listUserHeld(store: HeldStore, query: URLSearchParams, scope: AdminScope): Promise<UserHeldMessageView[]> {
  if (query.has('key') || query.has('counts')) throw new OctowayError('INVALID_QUERY', '"user" (with an optional "session") takes neither "key" nor "counts"');
  const user = query.get('user');
  const session = query.get('session');
  if (user === null) throw new OctowayError('INVALID_QUERY', '"session" needs "user"');
  if (user === '' || session === '') throw new OctowayError('INVALID_QUERY', '"user" and "session" must not be empty');
  let addresses: string[];
  if (session !== null) addresses = [sessionAddress(scope.app, user, session)];
  else {
    const prefix = sessionAddressPrefix(scope.app, user);
    const sessions = (await store.keys()).map((k) => k.key).filter((address) => address.startsWith(prefix)).sort();
    addresses = [userAddress(scope.app, user), ...sessions];
  }
  const views: UserHeldMessageView[] = [];
  for (const address of addresses) {
    const of = parseAddress(address).session ?? null;
    for (const m of await store.list(address)) {
      const date = new Date(m.createdAt).toISOString();
      views.push({
        id: m.id, user, session: of, payload: payloadOf(plainFrame(m.frame)), date, exp: m.expire, created_at: date, expires_at: new Date(m.expiresAt).toISOString(),
      });
    }
  }
  return views;
}

/** Whether a `GET /` asks for presence or history rather than held messages. */
export function isPresenceOrHistory(query: URLSearchParams): boolean {
  return query.has('presence') || query.has('history');
}

/** `GET /?presence`: open sockets per key or pattern (cluster-wide with Redis), as Goctopus answers it. */
export async function listPresence(presence: () => Promise<Map<string, number>>, query: URLSearchParams, scope: AdminScope): Promise<Record<string, number>> {
  checkParameters(query, ['presence']);
  const counts: Record<string, number> = {};
  for (const [address, count] of await presence()) {
    const key = keyNameIn(scope.app, address);
    if (key !== undefined) counts[key] = count;
  }
  return counts;
}

/** `GET /?key=K&history`: the key's recent messages, delivered or not, oldest first, in Goctopus's
 * item shape (`date`, `exp`, `id`, `key`, `payload`). While WS_HISTORY_SIZE is 0, `[]`, as Goctopus answers. */
export async function listHistory(history: History | undefined, query: URLSearchParams, scope: AdminScope): Promise<unknown> {
  checkParameters(query, ['key', 'history']);
  const key = query.get('key');
  if (key === null || key === '') throw new OctowayError('INVALID_QUERY', '"history" needs a non-empty "key"');
  if (history === undefined) return [];
  return (await history.list(keyAddress(scope.app, key))).map((m) => ({
    date: new Date(m.createdAt).toISOString(),
    exp: m.expire,
    id: m.id,
    key,
    payload: payloadOf(plainFrame(m.frame)),
  }));
}

/** `DELETE /`, `DELETE /?key=K`, `DELETE /?key=K&id=ID`; answers how many were removed. With other
 * apps on the gateway, `DELETE /` removes the app's keys one by one (a message held meanwhile under
 * a new key of the app may stay), never another app's. */
export async function removeHeld(store: HeldStore, query: URLSearchParams, scope: AdminScope): Promise<{ removed: number }> {
  // A mistyped selector must not widen the delete: `DELETE /?ID=x` removed every held message.
  checkParameters(query, ['key', 'id']);
  const key = query.get('key') ?? undefined;
  const id = query.get('id') ?? undefined;
  if (key === '' || id === '') throw new OctowayError('INVALID_QUERY', '"key" and "id" must not be empty');
  if (id !== undefined && key === undefined) throw new OctowayError('INVALID_QUERY', '"id" needs "key"');
  if (key === undefined && !scope.alone) {
    let removed = 0;
    for (const { address } of await appKeys(store, scope.app)) removed += await store.remove({ key: address });
    return { removed };
  }
  const selector: { key?: string; id?: string } = {};
  if (key !== undefined) selector.key = keyAddress(scope.app, key);
  if (id !== undefined) selector.id = id;
  return { removed: await store.remove(selector) };
}
