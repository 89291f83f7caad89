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
  METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed on this endpoint' },
  BODY_TOO_LARGE: { status: 413, message: 'request body is larger than WS_MAX_BODY' },
  INVALID_JSON: { status: 400, message: 'request body is not valid JSON' },
  VALUE_TOO_DEEP: { status: 400, message: 'the body nests arrays and objects more than 100 levels deep' },
  INVALID_MESSAGE: { status: 400, message: 'message must be a JSON object' },
  MISSING_KEY: { status: 400, message: '"key" (a non-empty string) or "keys" (a non-empty array of them) is required' },
  INVALID_KEY: { status: 400, message: 'keys must be non-empty strings' },
  MISSING_VALUE: { status: 400, message: '"value" is required and must not be null' },
  INVALID_EXPIRE: { status: 400, message: '"expire" must be a duration string such as "30s", "5m" or "1h30m", of at most 365d' },
  INVALID_MESSAGE_ID: { status: 400, message: '"message_id" must be a non-empty string of at most 200 characters' },
  INVALID_BATCH: { status: 400, message: '"messages" must be a non-empty array no longer than WS_MAX_BATCH' },
  INVALID_CONTENT_LENGTH: { status: 400, message: 'the request repeats Content-Length with different values (RFC 9112 section 6.3); the connection is closed' },
  INVALID_QUERY: { status: 400, message: 'invalid query parameters' },
  STORE_UNAVAILABLE: { status: 503, message: 'the message store is unavailable; the message was not accepted' },
  SHUTTING_DOWN: { status: 503, message: 'the gateway is shutting down' },
  INTERNAL_ERROR: { status: 500, message: 'internal error; the gateway logged it' },

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
  AUTH_BACKEND_INVALID: { status: 502, message: 'the auth backend answered with a redirect or a body that is not JSON' },
  EXPORTER_FAILED: { status: 502, message: 'the auth exporter failed on the auth answer' },

  // Start-up (operator side); these stop the process with exit code 2
  CONFIG_INVALID: { status: 500, message: 'invalid configuration' },
  STATE_FILE_INVALID: { status: 500, message: 'WS_STATE_FILE cannot be loaded' },
  STATE_FILE_UNWRITABLE: { status: 500, message: 'WS_STATE_FILE cannot be written' },
  PORT_IN_USE: { status: 500, message: 'WS_PORT is already in use on WS_HOST' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

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
