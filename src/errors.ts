// The error-code registry: every error Octoway reports to a client, a backend or an operator.
// docs/errors.md lists the same codes; test/errors-docs.test.ts fails when the two disagree.

export interface ErrorSpec {
  /** HTTP status sent with the error (for refused upgrades too). */
  readonly status: number;
  /** Default human message; a thrower may give a more specific one. */
  readonly message: string;
}

export const ERRORS = {
  // Publish and admin API (backend side)
  UNAUTHORIZED: { status: 401, message: 'missing or wrong Basic credentials' },
  NOT_FOUND: { status: 404, message: 'no such endpoint' },
  APP_NOT_FOUND: { status: 404, message: 'no such app: /apps/{app}/ names an app of WS_CONFIG\'s apps (or default)' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed on this endpoint' },
  BODY_TOO_LARGE: { status: 413, message: 'request body is larger than WS_MAX_BODY' },
  INVALID_JSON: { status: 400, message: 'request body is not valid JSON' },
  VALUE_TOO_DEEP: { status: 400, message: 'the body nests arrays and objects more than 100 levels deep' },
  INVALID_MESSAGE: { status: 400, message: 'message must be a JSON object' },
  MISSING_KEY: { status: 400, message: '"key" (a non-empty string) or "keys" (a non-empty array of them) is required, or "topic" or "topics" (the same for topics), "user" or "connection"' },
  INVALID_KEY: { status: 400, message: 'keys must be non-empty strings' },
  MISSING_VALUE: { status: 400, message: '"value" is required and must not be null' },
  INVALID_EXPIRE: { status: 400, message: '"expire" must be a duration string such as "30s", "5m" or "1h30m", of at most 365d' },
  INVALID_MESSAGE_ID: { status: 400, message: '"message_id" must be a non-empty string of at most 200 characters' },
  INVALID_FILTER: { status: 400, message: '"filter" must be {"include": {path: value}, "exclude": {path: value}} with string, number, boolean, null or array values' },
  INVALID_BATCH: { status: 400, message: '"messages" must be a non-empty array no longer than WS_MAX_BATCH' },
  INVALID_CONTENT_LENGTH: { status: 400, message: 'the request repeats Content-Length with different values (RFC 9112 section 6.3); the connection is closed' },
  INVALID_QUERY: { status: 400, message: 'invalid query parameters' },
  // Control endpoints (POST /disconnect, GET /connections, GET /presence)
  INVALID_TARGET: { status: 400, message: 'exactly one target is required: "key", "keys", "user" (with an optional "session"), "connection" or "topic"' },
  INVALID_CLOSE_CODE: { status: 400, message: '"code" must be 1000 or a whole number from 4000 to 4999' },
  INVALID_CLOSE_REASON: { status: 400, message: '"reason" must be a string of at most 123 bytes (UTF-8)' },
  CONTROL_UNAVAILABLE: { status: 503, message: 'the control bus (Redis) is unavailable: no node was asked' },
  STORE_UNAVAILABLE: { status: 503, message: 'the message store is unavailable; the message was not accepted' },
  SHUTTING_DOWN: { status: 503, message: 'the gateway is shutting down' },
  INTERNAL_ERROR: { status: 500, message: 'internal error; the gateway logged it' },

  // Both sides: API requests and upgrades, counted per client address (WS_RATE_LIMIT)
  RATE_LIMITED: { status: 429, message: 'too many requests from this address (WS_RATE_LIMIT); retry after Retry-After seconds' },

  // Publisher auth (WS_PUBLISH_AUTH): 401 = no usable credentials, 403 = valid but not allowed
  PUBLISH_TOKEN_INVALID: { status: 401, message: 'the bearer token is not one of WS_PUBLISH_TOKENS' },
  HMAC_SIGNATURE_MALFORMED: { status: 401, message: 'X-Octoway-Signature must be "t=<unix seconds>,v1=<64 hex digits>"' },
  HMAC_SIGNATURE_INVALID: { status: 401, message: 'X-Octoway-Signature does not match the body' },
  HMAC_TIMESTAMP_OUT_OF_RANGE: { status: 401, message: 'the signature\'s timestamp is further from now than WS_HMAC_TOLERANCE' },
  HMAC_REPLAYED: { status: 401, message: 'this signature was already accepted; sign each request anew' },
  PUBLISH_SCOPE_MISSING: { status: 403, message: 'the JWT\'s scope does not include publish (or broadcast)' },
  PUBLISH_KEY_FORBIDDEN: { status: 403, message: 'the publisher JWT may not publish to this key' },
  ADMIN_FORBIDDEN: { status: 403, message: 'admin endpoints need basic or bearer credentials, not a publisher JWT' },

  // JWT verification (client and publisher): each refusal has its own code
  JWT_MALFORMED: { status: 401, message: 'the token is not a well-formed signed JWT' },
  JWT_ALG_NONE: { status: 401, message: 'unsigned tokens (alg "none") are refused' },
  JWT_ALG_CONFUSION: { status: 401, message: 'an HMAC-signed token was presented where a public key verifies' },
  JWT_ALG_NOT_ALLOWED: { status: 401, message: 'the token\'s algorithm is not in WS_JWT_ALGORITHMS' },
  JWT_BAD_SIGNATURE: { status: 401, message: 'the token\'s signature does not verify' },
  JWT_EXPIRED: { status: 401, message: 'the token has expired' },
  JWT_NOT_YET_VALID: { status: 401, message: 'the token is not valid yet (nbf is in the future)' },
  JWT_EXP_INVALID: { status: 401, message: 'the token\'s exp is missing (WS_JWT_REQUIRE_EXP=true) or not a number' },
  JWT_CLAIM_INVALID: { status: 401, message: 'a claim of the token has the wrong type' },
  JWT_WRONG_AUDIENCE: { status: 401, message: 'the token\'s aud is not one of WS_JWT_AUDIENCE' },
  JWT_WRONG_ISSUER: { status: 401, message: 'the token\'s iss is not one of WS_JWT_ISSUER' },
  JWT_KEY_UNKNOWN: { status: 401, message: 'no key of WS_JWT_JWKS_URL matches the token (kid)' },
  JWT_KEYS_UNAVAILABLE: { status: 503, message: 'the JWKS (WS_JWT_JWKS_URL) could not be fetched' },
  // Token refresh on an open socket ({"type":"refresh"}): sent in an error frame, never as HTTP
  REFRESH_INVALID: { status: 400, message: 'a refresh frame needs "token": a non-empty string' },
  REFRESH_NOT_EXPIRING: { status: 409, message: 'this socket does not expire: there is nothing to refresh' },
  // Octoway v2 client frames (docs/protocol.md): sent in an error frame, never as HTTP
  FRAME_INVALID: { status: 400, message: 'a frame must be a JSON object with a string "type" and, if given, a "ref" string (at most 200 characters) or number' },
  FRAME_UNKNOWN_TYPE: { status: 400, message: 'unknown frame type: expected subscribe, unsubscribe, unsubscribe-all, publish, ack or refresh' },
  TOPIC_INVALID: { status: 400, message: '"topic" (or each of "topics") must be a non-empty string of at most 1024 characters without NUL' },
  TOPIC_FORBIDDEN: { status: 403, message: 'the socket\'s grants do not allow subscribing to this topic' },
  SINCE_INVALID: { status: 400, message: '"since" must be a JSON object of stream names (the frame\'s topics, or the socket\'s keys in the connect URL) to positions: integers from 0' },
  TOO_MANY_TOPICS: { status: 400, message: 'a socket may subscribe to at most WS_MAX_TOPICS_PER_SOCKET topics at once' },
  PUBLISH_TOPIC_FORBIDDEN: { status: 403, message: 'the grants do not allow publishing to this topic' },
  PUBLISH_DATA_MISSING: { status: 400, message: '"data" is required and must not be null' },
  PUBLISH_RATE_LIMITED: { status: 429, message: 'the socket publishes faster than WS_CLIENT_PUBLISH_RATE allows' },
  ACK_INVALID: { status: 400, message: 'an ack frame needs "id": a non-empty string of at most 512 characters' },
  REFRESH_SUBJECT_MISMATCH: { status: 403, message: 'the refresh token\'s sub is not the socket\'s subject' },

  // WebSocket upgrade (browser side)
  INVALID_HANDSHAKE: { status: 400, message: 'the upgrade request is not a valid WebSocket handshake (RFC 6455)' },
  UNSUPPORTED_WEBSOCKET_VERSION: { status: 426, message: 'Sec-WebSocket-Version must be 13, the version of RFC 6455' },
  ORIGIN_NOT_ALLOWED: { status: 403, message: 'origin is not in WS_ALLOWED_ORIGINS' },
  TOO_MANY_CONNECTIONS: { status: 503, message: 'the gateway holds WS_MAX_CONNECTIONS sockets already' },
  AUTH_QUEUE_FULL: { status: 503, message: 'too many upgrades are waiting for the auth backend' },
  AUTH_DENIED: { status: 401, message: 'the auth backend refused the request' },
  AUTH_FORBIDDEN: { status: 403, message: 'the auth backend refused the request' },
  AUTH_NO_KEYS: { status: 403, message: 'the auth answer maps to no routing key' },
  AUTH_INVALID_KEYS: { status: 502, message: 'the auth answer maps to a key over 1024 characters or to more than 100 keys' },
  AUTH_BACKEND_UNAVAILABLE: { status: 503, message: 'the auth backend is unavailable' },
  AUTH_BACKEND_NOT_FOUND: { status: 502, message: 'the auth backend answered 404: WS_AUTH_URL names no endpoint' },
  AUTH_BACKEND_INVALID: { status: 502, message: 'the auth backend answered with a redirect or a body that is not JSON' },
  EXPORTER_FAILED: { status: 502, message: 'the auth exporter failed on the auth answer' },
  // Client auth modes (WS_AUTH_MODE) and single-use tickets
  AUTH_MODE_NOT_ENABLED: { status: 401, message: 'the upgrade presents a credential of an auth mode WS_AUTH_MODE does not list' },
  AUTH_CREDENTIALS_MISSING: { status: 401, message: 'the upgrade presents no ticket or token, and WS_AUTH_MODE does not list forward' },
  TICKET_INVALID: { status: 400, message: 'the ticket parameter is empty, repeated, or given as both "ticket" and "claim"' },
  TICKET_NOT_FOUND: { status: 401, message: 'no such ticket: unknown, already used, removed or expired' },
  TICKET_EXPIRED: { status: 401, message: 'the ticket has expired' },
  TICKET_STORE_UNAVAILABLE: { status: 503, message: 'the ticket store is unavailable' },
  INVALID_TICKET: { status: 400, message: 'a ticket request must be a JSON object with only user, session, keys, claims, ttl, expires_at and id' },
  INVALID_TICKET_USER: { status: 400, message: '"user" is required: a non-empty string of at most 1024 characters' },
  INVALID_TICKET_SESSION: { status: 400, message: '"session" must be a non-empty string of at most 1024 characters' },
  INVALID_TICKET_KEYS: { status: 400, message: '"keys" must be an array of non-empty strings of at most 1024 characters, at most 99 besides the user' },
  INVALID_TICKET_CLAIMS: { status: 400, message: '"claims" must be a JSON object' },
  INVALID_TICKET_TTL: { status: 400, message: '"ttl" must be a duration string such as "30s" or "5m", above 0 and at most 365d, and not given with "expires_at"' },
  INVALID_TICKET_EXPIRES_AT: { status: 400, message: '"expires_at" must be a whole number of unix seconds, in the future and at most 365d ahead' },
  INVALID_TICKET_ID: { status: 400, message: '"id" must be a string of 1 to 200 printable ASCII characters' },
  TICKET_ID_TAKEN: { status: 409, message: 'a ticket with this id exists already' },
  TICKETS_FULL: { status: 503, message: 'the gateway holds WS_TICKET_MAX unused tickets already' },
  // Never sent: the client is gone. Logs and metrics count it apart from backend failures.
  CLIENT_GONE: { status: 499, message: 'the client went away before its upgrade was decided' },

  // Start-up (operator side); these stop the process with exit code 2
  CONFIG_INVALID: { status: 500, message: 'invalid configuration' },
  STATE_FILE_INVALID: { status: 500, message: 'WS_STATE_FILE cannot be loaded' },
  STATE_FILE_UNWRITABLE: { status: 500, message: 'WS_STATE_FILE cannot be written' },
  PORT_IN_USE: { status: 500, message: 'WS_PORT is already in use on WS_HOST' },
  TLS_FILE_INVALID: { status: 500, message: 'WS_TLS_CERT or WS_TLS_KEY cannot be loaded' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** What a client should do after a close code: `reconnect` (with backoff) or `terminal` (stop, or
 * change something first: reconnecting as it is gets the same close). */
export type CloseKind = 'reconnect' | 'terminal';

/** Octoway's own close codes are split by range, as Centrifugo's are: 4000-4499 reconnect,
 * 4500-4999 terminal, so a client can act on a code it does not know. RFC 6455 codes (1000-2999)
 * keep their standard numbers, which Goctopus clients already handle; each is listed with its kind. */
export const CLOSE_RANGES = {
  reconnect: { from: 4000, to: 4499 },
  terminal: { from: 4500, to: 4999 },
} as const satisfies Record<CloseKind, { from: number; to: number }>;

export interface CloseSpec {
  readonly code: number;
  readonly kind: CloseKind;
  /** The reason sent in the close frame (at most 123 bytes). */
  readonly reason: string;
}

/** Every close code the gateway sends or reports. docs/protocol.md lists the same codes with the
 * same kinds; test/errors-docs.test.ts fails when the two disagree. */
export const CLOSE_CODES = {
  /** The client closed, or the socket ended normally. */
  NORMAL: { code: 1000, kind: 'terminal', reason: '' },
  GOING_AWAY: { code: 1001, kind: 'reconnect', reason: 'server shutting down' },
  /** Reported, never sent: the connection ended without a close frame (idle timeout, network, a
   * frame over WS_MAX_PAYLOAD, which uWS drops at once). */
  ABNORMAL: { code: 1006, kind: 'reconnect', reason: '' },
  /** An inbound bound was passed; the reason names which. Reconnecting with the same flood gets the same close. */
  POLICY_VIOLATION: { code: 1008, kind: 'terminal', reason: 'policy violation' },
  SLOW_CONSUMER: { code: 1013, kind: 'reconnect', reason: 'slow consumer' },
  /** The socket's token passed its exp (+ WS_JWT_LEEWAY) without a refresh: reconnect with a new token. */
  TOKEN_EXPIRED: { code: 4001, kind: 'reconnect', reason: 'token expired' },
  /** POST /disconnect without a `code` of its own: the operator closed it; reconnecting authenticates again. */
  DISCONNECTED: { code: 4002, kind: 'reconnect', reason: 'disconnected' },
} as const satisfies Record<string, CloseSpec>;

export type CloseName = keyof typeof CLOSE_CODES;

/** The kind of any close code: registered codes by their entry, Octoway's ranges by range. */
export function closeKind(code: number): CloseKind | undefined {
  for (const spec of Object.values(CLOSE_CODES) as CloseSpec[]) if (spec.code === code) return spec.kind;
  if (code >= CLOSE_RANGES.reconnect.from && code <= CLOSE_RANGES.reconnect.to) return 'reconnect';
  if (code >= CLOSE_RANGES.terminal.from && code <= CLOSE_RANGES.terminal.to) return 'terminal';
  return undefined;
}

export class OctowayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Seconds a client should wait before retrying (sent as Retry-After), where that helps. */
  readonly retryAfter: number | undefined;
  /** The methods the endpoint takes (sent as Allow with a 405, as RFC 9110 requires). */
  readonly allow: string | undefined;
  /** Sent as WWW-Authenticate with a 401: the schemes the endpoint takes (RFC 9110 §11.6.1). */
  readonly challenge: string | undefined;

  constructor(code: ErrorCode, message?: string, options?: { status?: number; retryAfter?: number; allow?: string; challenge?: string; cause?: unknown }) {
    super(message ?? ERRORS[code].message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OctowayError';
    this.code = code;
    this.status = options?.status ?? ERRORS[code].status;
    this.retryAfter = options?.retryAfter;
    this.allow = options?.allow;
    this.challenge = options?.challenge;
  }

  toJSON(): { error: ErrorCode; message: string } {
    return { error: this.code, message: this.message };
  }
}

export function isOctowayError(err: unknown): err is OctowayError {
  return err instanceof OctowayError;
}
