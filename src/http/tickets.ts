// The tickets API (WS_AUTH_MODE lists ticket): POST /tickets makes a single-use connect ticket,
// GET /tickets lists a user's unused ones, DELETE /tickets removes them. An admin endpoint: behind
// the admin credentials (Basic, or a bearer token), never a scoped publisher token.
import { randomBytes } from 'node:crypto';
import type { HttpRequest } from 'uWebSockets.js';
import { OctowayError } from '../errors.js';
import type { Logger } from '../log.js';
import { MAX_EXPIRE_MS } from '../delivery/message.js';
import { isValidKey, MAX_KEYS_PER_SOCKET } from '../delivery/routing-key.js';
import type { Ticket, TicketStore } from '../identity/ticket-store.js';
import { parseDuration } from '../units.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth.js';
import { answer, checkParameters, methodNotAllowed, readBody, replyError, type Exchange } from './exchange.js';

export interface TicketApiOptions {
  readonly store: TicketStore;
  /** The admin credentials check (Basic or bearer). */
  /** WS_PUBLISH_AUTH's admin check (basic or bearer, never a publisher JWT): the refusal, or undefined. */
  readonly checkAdmin: (req: HttpRequest) => OctowayError | undefined;
  /** WS_TICKET_TTL: the lifetime of a ticket made with neither `ttl` nor `expires_at`. */
  readonly defaultTtlMs: number;
  readonly maxBodyBytes: number;
}

/** A ticket as the API shows it. `ticket` is the value the client connects with. */
export interface TicketView {
  ticket: string;
  user: string;
  session?: string;
  keys?: string[];
  claims?: Record<string, unknown>;
  /** Unix seconds, rounded down. */
  expires_at: number;
}

const FIELDS = new Set(['user', 'session', 'keys', 'claims', 'ttl', 'expires_at', 'id']);
const MAX_ID_LENGTH = 200;
/** Printable ASCII: an id travels in a URL, and anything else invites encoding mismatches. */
const ID_PATTERN = /^[\x21-\x7e]+$/;
/** 24 random bytes: 192 bits, 32 base64url characters. */
const GENERATED_ID_BYTES = 24;

/** Routes one request to /tickets. Reads everything it needs from `req` before returning. */
export function routeTickets(exchange: Exchange, req: HttpRequest, method: string, contentLength: string, options: TicketApiOptions, log: Logger): void {
  const refused = options.checkAdmin(req);
  // A refused POST leaves its body unread: close the connection after the answer.
  if (refused !== undefined) return replyError(exchange, refused, log, { close: method === 'post' });
  const query = new URLSearchParams(req.getQuery() ?? '');
  query.delete('token'); // a bearer admin may authenticate with ?token=
  switch (method) {
    case 'post':
      return readBody(exchange, contentLength, options.maxBodyBytes, (body) => {
        let ticket: Ticket;
        try {
          if (query.size > 0) throw new OctowayError('INVALID_QUERY', 'POST /tickets takes its fields in the JSON body, not in the query');
          ticket = parseTicketRequest(body, options.defaultTtlMs);
        } catch (err) {
          return replyError(exchange, err, log);
        }
        answer(exchange, options.store.create(ticket).then(() => created(ticket)), 201, log);
      }, log);
    case 'get': {
      const selector = userSelector(query);
      return answer(exchange, selector.then(({ user, session }) => options.store.list(user, session)).then((tickets) => ({ tickets: tickets.map(view) })), 200, log);
    }
    case 'delete': {
      const selector = userSelector(query);
      return answer(exchange, selector.then(({ user, session }) => options.store.remove(user, session)).then((removed) => ({ removed })), 200, log);
    }
    default:
      return replyError(exchange, methodNotAllowed('GET, HEAD, POST, DELETE'), log);
  }
}

/** POST /tickets's body as a ticket, or the OctowayError naming the first bad field. */
export function parseTicketRequest(body: Buffer, defaultTtlMs: number, now = Date.now()): Ticket {
  if (nestsDeeperThan(body, MAX_JSON_DEPTH)) throw new OctowayError('VALUE_TOO_DEEP');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new OctowayError('INVALID_JSON');
  }
  if (!isObject(parsed)) throw new OctowayError('INVALID_TICKET');
  const unknown = Object.keys(parsed).find((name) => !FIELDS.has(name));
  if (unknown !== undefined) throw new OctowayError('INVALID_TICKET', `unknown field ${JSON.stringify(unknown.slice(0, 100))}; a ticket takes user, session, keys, claims, ttl, expires_at and id`);
  // null stands for absent in the optional fields, as many JSON encoders write an unset value.
  const field = (name: string): unknown => (parsed as Record<string, unknown>)[name] ?? undefined;

  const user = field('user');
  if (!isValidKey(user)) throw new OctowayError('INVALID_TICKET_USER');
  const session = field('session');
  if (session !== undefined && !isValidKey(session)) throw new OctowayError('INVALID_TICKET_SESSION');
  const keys = keysOf(field('keys'), user);
  const claims = field('claims');
  if (claims !== undefined && !isObject(claims)) throw new OctowayError('INVALID_TICKET_CLAIMS');
  const id = field('id');
  if (id !== undefined && (typeof id !== 'string' || id.length > MAX_ID_LENGTH || !ID_PATTERN.test(id))) throw new OctowayError('INVALID_TICKET_ID');
  return {
    id: id ?? randomBytes(GENERATED_ID_BYTES).toString('base64url'),
    user,
    session,
    keys,
    claims,
    expiresAt: expiryOf(field('ttl'), field('expires_at'), defaultTtlMs, now),
  };
}

/** The keys besides the user, without repeats; with the user, within a socket's key limits. */
function keysOf(keys: unknown, user: string): string[] {
  if (keys === undefined) return [];
  if (!Array.isArray(keys) || !keys.every(isValidKey)) throw new OctowayError('INVALID_TICKET_KEYS');
  const others = [...new Set(keys as string[])].filter((k) => k !== user);
  if (others.length + 1 > MAX_KEYS_PER_SOCKET) throw new OctowayError('INVALID_TICKET_KEYS');
  return others;
}

function expiryOf(ttl: unknown, expiresAt: unknown, defaultTtlMs: number, now: number): number {
  if (ttl !== undefined && expiresAt !== undefined) throw new OctowayError('INVALID_TICKET_TTL', 'give "ttl" or "expires_at", not both');
  if (expiresAt !== undefined) {
    const ms = typeof expiresAt === 'number' && Number.isSafeInteger(expiresAt) ? expiresAt * 1000 : NaN;
    if (!(ms > now && ms <= now + MAX_EXPIRE_MS)) throw new OctowayError('INVALID_TICKET_EXPIRES_AT');
    return ms;
  }
  if (ttl === undefined) return now + defaultTtlMs;
  const ms = typeof ttl === 'string' ? parseDuration(ttl) : undefined;
  if (ms === undefined || ms <= 0 || ms > MAX_EXPIRE_MS) throw new OctowayError('INVALID_TICKET_TTL');
  return now + ms;
}

/** `user` (required) and `session` (optional), and nothing else: a mistyped selector must not widen a DELETE. */
async function userSelector(query: URLSearchParams): Promise<{ user: string; session: string | undefined }> {
  checkParameters(query, ['user', 'session']);
  const user = query.get('user');
  const session = query.get('session') ?? undefined;
  if (user === null || user === '') throw new OctowayError('INVALID_QUERY', '"user" is required and must not be empty');
  if (session === '') throw new OctowayError('INVALID_QUERY', '"session" must not be empty');
  return { user, session };
}

function created(ticket: Ticket): TicketView {
  return {
    ticket: ticket.id,
    user: ticket.user,
    ...(ticket.session === undefined ? {} : { session: ticket.session }),
    expires_at: Math.floor(ticket.expiresAt / 1000),
  };
}

function view(ticket: Ticket): TicketView {
  return {
    ...created(ticket),
    keys: [...ticket.keys],
    ...(ticket.claims === undefined ? {} : { claims: { ...ticket.claims } }),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
