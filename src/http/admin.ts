// Goctopus's admin endpoints on `/`: list and remove held messages. Behind the publish credentials.
// Each app's admin sees its own keys only, by name (http/app-scope.ts).
import { OctowayError } from '../errors.js';
import { keyAddress } from '../delivery/address.js';
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
  checkParameters(query, ['key', 'counts']);
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
