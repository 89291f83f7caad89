// The control endpoints, behind the admin credentials: POST /disconnect closes the matching sockets
// on every node, GET /connections lists them, GET /presence counts them (control/control.ts asks
// the nodes). Targets name a key, keys, a user (and session), a connection id or a topic.
import { CLOSE_CODES, OctowayError } from '../errors.js';
import type { Logger } from '../log.js';
import { keyAddress, sessionAddress, sessionAddressPrefix, topicAddress, userAddress } from '../delivery/address.js';
import type { HeldStore } from '../delivery/held-store.js';
import { isValidKey } from '../delivery/routing-key.js';
import { MAX_PAGE, type ConnectionView, type ControlPlane, type ControlTarget, type Gathered } from '../control/control.js';
import { answer, checkParameters, methodNotAllowed, readBody, replyError, type Exchange } from './exchange.js';
import type { AuthStep } from './publisher-auth.js';

export interface ControlApiOptions {
  readonly control: ControlPlane;
  /** For drop_held: held messages of the target's keys are removed from it. */
  readonly store: HeldStore;
  readonly maxBodyBytes: number;
  /** The app whose sockets the requests are about (its keys, topics, users and connections only). */
  readonly app: string;
}

export const CONTROL_PATHS: ReadonlySet<string> = new Set(['/disconnect', '/connections', '/presence']);

/** The longest close reason a close frame carries (RFC 6455: 125 bytes less the code's 2). */
const MAX_REASON_BYTES = 123;
const DEFAULT_CLOSE = CLOSE_CODES.DISCONNECTED;
const TARGET_FIELDS = ['key', 'keys', 'user', 'connection', 'topic'] as const;

/** Routes one control request; `step` is the admin check publisherAuth.begin(req, 'admin') made. */
export function routeControl(exchange: Exchange, path: string, method: string, query: URLSearchParams, contentLength: string, step: AuthStep, options: ControlApiOptions, log: Logger): void {
  const allow = path === '/disconnect' ? 'POST' : 'GET, HEAD';
  if (!allow.toLowerCase().split(', ').includes(method)) {
    return replyError(exchange, methodNotAllowed(allow), log, { close: method === 'post' });
  }
  if (step.kind === 'refused') return replyError(exchange, step.error, log, { close: method === 'post' });
  const admitted = admit(step);
  if (path === '/connections') return answer(exchange, admitted.then(() => listConnections(options.control, query, options.app)), 200, log);
  if (path === '/presence') return answer(exchange, admitted.then(() => countPresence(options.control, query, options.app)), 200, log);
  readBody(exchange, contentLength, options.maxBodyBytes, (body) => {
    let request: DisconnectBody;
    try {
      request = parseDisconnect(body, options.app);
    } catch (err) {
      return replyError(exchange, err, log);
    }
    answer(exchange, admitted.then(() => disconnect(options, request)), 200, log);
  }, log);
}

/** Settles once the credentials are known to be admin ones (a publisher JWT never is). */
function admit(step: Exclude<AuthStep, { kind: 'refused' }>): Promise<void> {
  if (step.kind === 'accepted') return Promise.resolve();
  if (step.kind === 'pending') {
    return step.result.then((publisher) => {
      if (publisher instanceof OctowayError) throw publisher;
      throw new OctowayError('ADMIN_FORBIDDEN');
    });
  }
  // 'signed': begin() reads no signature for admin endpoints.
  return Promise.reject(new OctowayError('INTERNAL_ERROR'));
}

interface DisconnectBody {
  readonly target: ControlTarget;
  readonly code: number;
  readonly reason: string;
  readonly dropHeld: boolean;
}

function parseDisconnect(body: Buffer, app: string): DisconnectBody {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new OctowayError('INVALID_JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new OctowayError('INVALID_MESSAGE', 'the body must be a JSON object');
  const fields = value as Record<string, unknown>;
  const unknown = Object.keys(fields).find((name) => ![...TARGET_FIELDS, 'session', 'code', 'reason', 'drop_held'].includes(name));
  if (unknown !== undefined) throw new OctowayError('INVALID_MESSAGE', `unknown field ${JSON.stringify(unknown.slice(0, 100))}`);
  const target = targetOf((name) => fields[name], app);
  const code = fields['code'] ?? DEFAULT_CLOSE.code;
  if (!Number.isInteger(code) || (code !== 1000 && ((code as number) < 4000 || (code as number) > 4999))) throw new OctowayError('INVALID_CLOSE_CODE');
  const reason = fields['reason'] ?? DEFAULT_CLOSE.reason;
  if (typeof reason !== 'string' || Buffer.byteLength(reason) > MAX_REASON_BYTES) throw new OctowayError('INVALID_CLOSE_REASON');
  const dropHeld = fields['drop_held'] ?? false;
  if (typeof dropHeld !== 'boolean') throw new OctowayError('INVALID_MESSAGE', '"drop_held" must be true or false');
  if (dropHeld && (target.kind === 'connection' || target.kind === 'topic')) {
    throw new OctowayError('INVALID_TARGET', '"drop_held" needs a key, keys or a user: a connection or a topic has no held messages of its own');
  }
  return { target, code: code as number, reason, dropHeld };
}

/** The one target of a body or a query, in the request's app. */
function targetOf(get: (name: string) => unknown, app: string): ControlTarget {
  const given = TARGET_FIELDS.filter((name) => get(name) !== undefined && get(name) !== null);
  if (given.length !== 1) throw new OctowayError('INVALID_TARGET');
  const name = (value: unknown, what: string): string => {
    if (!isValidKey(value)) throw new OctowayError('INVALID_TARGET', `"${what}" must be a non-empty string of at most 1024 characters, without NUL`);
    return value;
  };
  const session = get('session');
  if (session !== undefined && given[0] !== 'user') throw new OctowayError('INVALID_TARGET', '"session" goes with "user" only');
  switch (given[0]) {
    case 'key':
      return { kind: 'keys', addresses: [keyAddress(app, name(get('key'), 'key'))] };
    case 'keys': {
      const keys = get('keys');
      if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_PAGE) throw new OctowayError('INVALID_TARGET', '"keys" must be a non-empty array of at most 1000 keys');
      return { kind: 'keys', addresses: keys.map((key) => keyAddress(app, name(key, 'keys'))) };
    }
    case 'user':
      return { kind: 'user', app, user: name(get('user'), 'user'), session: session === undefined ? undefined : name(session, 'session') };
    case 'connection':
      return { kind: 'connection', app, id: name(get('connection'), 'connection') };
    default:
      return { kind: 'topic', address: topicAddress(app, name(get('topic'), 'topic')) };
  }
}

/** Nodes that answered, and those that got the request and did not answer in time (null: unknown). */
function nodesOf(gathered: Gathered): { nodes: number; unanswered: number | null } {
  return { nodes: gathered.answers.length, unanswered: gathered.unanswered ?? null };
}

async function disconnect(options: ControlApiOptions, body: DisconnectBody): Promise<unknown> {
  const { target, code, reason } = body;
  const gathered = await options.control.ask({ op: 'disconnect', target, code, reason });
  let closed = 0;
  for (const a of gathered.answers) if (a.op === 'disconnect') closed += a.closed;
  if (!body.dropHeld) return { closed, ...nodesOf(gathered) };
  // After the sockets closed, so a message held meanwhile for a closing socket goes too.
  let dropped = 0;
  for (const key of await heldAddresses(options.store, target)) dropped += await options.store.remove({ key });
  return { closed, ...nodesOf(gathered), dropped };
}

/** The addresses a target's messages are held under: its keys, or the session's own address, or
 * the user's own address and those of each of the user's sessions (the store's keys starting with
 * the user's session prefix): wiping a user drops their session holds too. */
async function heldAddresses(store: HeldStore, target: ControlTarget): Promise<readonly string[]> {
  if (target.kind === 'keys') return target.addresses;
  if (target.kind !== 'user') return [];
  if (target.session !== undefined) return [sessionAddress(target.app, target.user, target.session)];
  const prefix = sessionAddressPrefix(target.app, target.user);
  const sessions = (await store.keys()).map((k) => k.key).filter((address) => address.startsWith(prefix));
  return [userAddress(target.app, target.user), ...sessions];
}

function queryTarget(query: URLSearchParams, allowed: readonly string[], app: string): ControlTarget {
  checkParameters(query, allowed);
  return targetOf((name) => (name === 'keys' ? undefined : query.get(name) ?? undefined), app);
}

async function listConnections(control: ControlPlane, query: URLSearchParams, app: string): Promise<unknown> {
  const target = queryTarget(query, ['key', 'user', 'session', 'connection', 'topic', 'cursor', 'limit'], app);
  const limitText = query.get('limit');
  const limit = limitText === null ? MAX_PAGE : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new OctowayError('INVALID_QUERY', `"limit" must be a whole number from 1 to ${MAX_PAGE}`);
  const cursor = query.get('cursor');
  if (cursor === '') throw new OctowayError('INVALID_QUERY', '"cursor" must not be empty');
  const after = cursor === null ? '' : Buffer.from(cursor, 'base64url').toString('utf8');
  const gathered = await control.ask({ op: 'connections', target, after, limit });
  // Each node sent its first `limit` after the cursor, in id order: the first `limit` of them all
  // are this page, and a node that had more, or more than fit, means a next page.
  const all: ConnectionView[] = [];
  let more = false;
  for (const a of gathered.answers) {
    if (a.op !== 'connections') continue;
    all.push(...a.connections);
    more ||= a.more;
  }
  all.sort((a, b) => (a.id < b.id ? -1 : 1));
  const page = all.slice(0, limit);
  more ||= all.length > page.length;
  const last = page[page.length - 1];
  return { connections: page, cursor: more && last !== undefined ? Buffer.from(last.id).toString('base64url') : null, ...nodesOf(gathered) };
}

async function countPresence(control: ControlPlane, query: URLSearchParams, app: string): Promise<unknown> {
  const target = queryTarget(query, ['key', 'user', 'session', 'connection', 'topic'], app);
  const gathered = await control.ask({ op: 'presence', target });
  let connections = 0;
  for (const a of gathered.answers) if (a.op === 'presence') connections += a.connections;
  return { connections, ...nodesOf(gathered) };
}
