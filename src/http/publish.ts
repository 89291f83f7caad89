// The publish API's body: one message (Goctopus's `{key, value, expire}`, plus `keys`, `topic`,
// `topics` and `message_id`) or a batch `{messages: [...]}`. Validates everything before anything is published,
// so a bad batch stores none of its messages.
import { OctowayError } from '../errors.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth.js';
import { expireText, frameOf, MAX_EXPIRE_MS, newMessageId, type Message } from '../delivery/message.js';
import { isValidKey, MAX_KEY_LENGTH } from '../delivery/routing-key.js';
import { parseDuration } from '../units.js';
import { sessionAddress, topicAddress, userAddress } from '../delivery/address.js';
import { compileFilter } from '../delivery/filter.js';
import { encodeFrame } from '../delivery/conditions.js';
import { DEFAULT_APP } from '../socket/connection.js';

export interface PublishLimits {
  readonly maxBatch: number;
  readonly defaultExpireMs: number;
  /** WS_MSG_EXPIRE as configured: the `exp` of messages posted without `expire`. */
  readonly defaultExpire: string;
}

export interface PublishRequest {
  /** A batch answers with `results`; a single message with its own result. */
  readonly batch: boolean;
  readonly messages: readonly Message[];
}

const MAX_MESSAGE_ID_LENGTH = 200;

export function parsePublish(body: Buffer, limits: PublishLimits, now = Date.now()): PublishRequest {
  if (nestsDeeperThan(body, MAX_JSON_DEPTH)) throw new OctowayError('VALUE_TOO_DEEP');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new OctowayError('INVALID_JSON'); // the parser's message could echo the payload: not sent back
  }
  if (!isObject(parsed)) throw new OctowayError('INVALID_MESSAGE');
  if (!('messages' in parsed)) return { batch: false, messages: [toMessage(parsed, limits, now)] };

  const items = parsed.messages;
  if (!Array.isArray(items) || items.length === 0 || items.length > limits.maxBatch) {
    throw new OctowayError('INVALID_BATCH', `"messages" must be a non-empty array of at most ${limits.maxBatch} messages (WS_MAX_BATCH)`);
  }
  const messages = items.map((item: unknown, index) => {
    try {
      if (!isObject(item)) throw new OctowayError('INVALID_MESSAGE');
      return toMessage(item, limits, now);
    } catch (err) {
      const e = err as OctowayError;
      throw new OctowayError(e.code, `messages[${index}]: ${e.message}`);
    }
  });
  return { batch: true, messages };
}

function toMessage(body: Record<string, unknown>, limits: PublishLimits, now: number, binary?: Uint8Array): Message {
  const topics = body.topic === undefined && body.topics === undefined ? undefined : topicsOf(body);
  const people = userTargetsOf(body);
  const connection = connectionOf(body.connection, 'connection');
  const hasKeys = body.key !== undefined || body.keys !== undefined;
  if (!hasKeys && topics === undefined && people.length === 0 && connection === undefined) throw new OctowayError('MISSING_KEY');
  const named = hasKeys ? keysOf(body) : [];
  const keys = people.length === 0 ? named : [...named, ...people];
  const excludeConnection = connectionOf(body.exclude_connection, 'exclude_connection');
  const filter = body.filter === undefined ? undefined : compileFilter(body.filter)?.spec;
  if (binary === undefined && (body.value === undefined || body.value === null)) throw new OctowayError('MISSING_VALUE');
  const expireMs = expireOf(body.expire, limits.defaultExpireMs);
  const expire = typeof body.expire === 'string' ? expireText(body.expire, expireMs) : limits.defaultExpire;
  const messageId = body.message_id;
  if (messageId !== undefined && (typeof messageId !== 'string' || messageId === '' || messageId.length > MAX_MESSAGE_ID_LENGTH)) {
    throw new OctowayError('INVALID_MESSAGE_ID');
  }
  const id = messageId ?? newMessageId();
  const frame = encodeFrame(binary === undefined ? frameOf(id, body.value) : '', { filter, excludeConnection, binary });
  const message: Message = { id, keys, frame, createdAt: now, expireMs, expire, idempotent: messageId !== undefined };
  const targeted = connection === undefined ? message : { ...message, connection: { app: DEFAULT_APP, id: connection } };
  return topics === undefined ? targeted : { ...targeted, topics };
}

/** `user` (with an optional `session`) as the user's or the session's address: held, as a key's
 * messages are, while none of its sockets is open. */
function userTargetsOf(body: Record<string, unknown>): string[] {
  const { user, session } = body;
  if (user === undefined) {
    if (session !== undefined) throw new OctowayError('INVALID_TARGET', '"session" goes with "user" only');
    return [];
  }
  if (!isValidKey(user)) throw new OctowayError('INVALID_TARGET', '"user" must be a non-empty string of at most 1024 characters, without NUL');
  if (session === undefined) return [userAddress(DEFAULT_APP, user)];
  if (!isValidKey(session)) throw new OctowayError('INVALID_TARGET', '"session" must be a non-empty string of at most 1024 characters, without NUL');
  return [sessionAddress(DEFAULT_APP, user, session)];
}

/** A connection id as GET /connections lists it (`<node>-<n>`). */
function connectionOf(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !CONNECTION_ID.test(value)) throw new OctowayError('INVALID_TARGET', `"${field}" must be a connection id as GET /connections lists it`);
  return value;
}

const CONNECTION_ID = /^[0-9a-z]{1,16}-[0-9a-z]{1,16}$/;

/** A binary publish (`Content-Type: application/octet-stream`): its body is the message, written
 * as a binary frame with no envelope; everything else is in the query (key, keys (repeated),
 * topic, user, session, connection, exclude_connection, filter (JSON), expire, message_id). */
export function parseBinaryPublish(body: Buffer, query: URLSearchParams, limits: PublishLimits, now = Date.now()): PublishRequest {
  const fields: Record<string, unknown> = {};
  for (const name of ['key', 'topic', 'user', 'session', 'connection', 'exclude_connection', 'expire', 'message_id']) {
    const value = query.get(name);
    if (value !== null) fields[name] = value;
  }
  const keys = query.getAll('keys');
  if (keys.length > 0) fields.keys = keys;
  const filter = query.get('filter');
  if (filter !== null) {
    try {
      fields.filter = JSON.parse(filter) as unknown;
    } catch {
      throw new OctowayError('INVALID_FILTER', '"filter" in the query must be JSON');
    }
  }
  return { batch: false, messages: [toMessage(fields, limits, now, new Uint8Array(body))] };
}

/** `topic` and `topics` as topic addresses (live only: a topic message is never held). */
function topicsOf(body: Record<string, unknown>): string[] {
  const { topic, topics } = body;
  const all: unknown[] = [];
  if (topic !== undefined) all.push(topic);
  if (topics !== undefined) {
    if (!Array.isArray(topics) || topics.length === 0) throw new OctowayError('TOPIC_INVALID', '"topics" must be a non-empty array of strings');
    all.push(...(topics as unknown[]));
  }
  for (const t of all) if (!isValidKey(t)) throw new OctowayError('TOPIC_INVALID');
  return [...new Set(all as string[])].map((t) => topicAddress(DEFAULT_APP, t));
}

function keysOf(body: Record<string, unknown>): string[] {
  const { key, keys } = body;
  if (key === undefined && keys === undefined) throw new OctowayError('MISSING_KEY');
  // Goctopus's single key, the common case: no Set needed to drop duplicates.
  if (keys === undefined && isValidKey(key)) return [key];
  const all: unknown[] = [];
  if (key !== undefined) all.push(key);
  if (keys !== undefined) {
    if (!Array.isArray(keys) || keys.length === 0) throw new OctowayError('INVALID_KEY', '"keys" must be a non-empty array of strings');
    all.push(...(keys as unknown[]));
  }
  for (const k of all) {
    if (!isValidKey(k)) {
      throw new OctowayError('INVALID_KEY', `keys must be non-empty strings of at most ${MAX_KEY_LENGTH} characters`);
    }
  }
  return [...new Set(all as string[])];
}

/** The bound keeps every derived timestamp a valid Date and an exact Redis score. */
function expireOf(expire: unknown, defaultMs: number): number {
  if (expire === undefined) return defaultMs;
  const ms = typeof expire === 'string' ? parseDuration(expire) : undefined;
  if (ms === undefined || ms > MAX_EXPIRE_MS) throw new OctowayError('INVALID_EXPIRE');
  return ms;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
