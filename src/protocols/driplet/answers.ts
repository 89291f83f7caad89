// Driplet's HTTP answers: plain text from Go's http.Error for every refusal, JSON from
// json.Encoder (sorted map keys, a trailing newline) for its two status routes.
import { goString } from '../go-json.js';

/** A plain-text answer as Go's http.Error writes it: `text/plain; charset=utf-8`,
 * `X-Content-Type-Options: nosniff`, the body followed by a newline. */
export interface DripletAnswer {
  readonly status: number;
  readonly body: string;
  /** Seconds, for a Retry-After header (Octoway's own answer when the nonce store is down). */
  readonly retryAfter?: number;
  /** Absent: Go's http.Error headers (text/plain, nosniff); '' for none (an empty 200). */
  readonly contentType?: string;
  /** The Allow header of Go's ServeMux 405. */
  readonly allow?: string;
  /** gorilla/websocket's Sec-Websocket-Version: 13 on a refused handshake. */
  readonly websocketVersion?: true;
}

function answer(status: number, text: string): DripletAnswer {
  return Object.freeze({ status, body: `${text}\n` });
}

export const DRIPLET_ANSWERS = Object.freeze({
  invalidEndpoint: answer(404, 'Invalid endpoint'),
  unauthorized: answer(401, 'Unauthorized'),
  missingSignature: answer(401, 'Missing signature'),
  invalidSignature: answer(401, 'Invalid signature'),
  invalidMessageFormat: answer(400, 'Invalid message format'),
  broadcastError: answer(500, 'Error broadcasting message'),
  /** Not Driplet's (it kept nonces in memory): Redis could not vouch for the nonce; retry. */
  nonceStoreUnavailable: Object.freeze({ status: 503, body: 'Nonce store unavailable\n', retryAfter: 1 }),
  /** Not Driplet's (it read any body whole): past DRIPLET_BODY_LIMIT, the rest left unread. */
  bodyTooLarge: answer(413, 'Request body too large'),
  /** A publish accepted: `w.WriteHeader(200)`, no body, no Content-Type. */
  ok: Object.freeze({ status: 200, body: '', contentType: '' }),
});

/** The largest publish body read (Driplet had no bound): WS_MAX_BODY's default. */
export const DRIPLET_BODY_LIMIT = 1024 * 1024;

/** `GET /ws/{endpoint}` with a good token but no WebSocket handshake: gorilla's 400 "Bad Request",
 * then Driplet's own http.Error after it (its status ignored by Go, its text appended). */
export const NOT_WEBSOCKET: DripletAnswer = Object.freeze({ status: 400, body: 'Bad Request\nCould not upgrade connection\n', websocketVersion: true });

/** Go 1.22 ServeMux's answer to a method the path has no pattern for. */
export function methodNotAllowed(allow: string): DripletAnswer {
  return { status: 405, body: 'Method Not Allowed\n', allow };
}

/** `GET /` (exactly that path; any other GET path not routed is NotFoundHandler's
 * "404 page not found"). Content-Type: application/json. */
export const DRIPLET_STATUS: DripletAnswer = Object.freeze({ status: 200, body: '{"status":"ok"}\n', contentType: 'application/json' });
export const DRIPLET_NOT_FOUND: DripletAnswer = answer(404, '404 page not found');

/** `GET /api/{endpoint}/ping` for a configured endpoint (else invalidEndpoint): a Go map, so
 * `endpoint` comes before `status`. Content-Type: application/json. */
export function pingAnswer(endpoint: string): DripletAnswer {
  return { status: 200, body: `{"endpoint":${goString(endpoint)},"status":"ok"}\n`, contentType: 'application/json' };
}
