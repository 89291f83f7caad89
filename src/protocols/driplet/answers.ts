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
});

/** `GET /` (exactly that path; any other GET path not routed is NotFoundHandler's
 * "404 page not found"). Content-Type: application/json. */
export const DRIPLET_STATUS = Object.freeze({ status: 200, body: '{"status":"ok"}\n' });
export const DRIPLET_NOT_FOUND = Object.freeze({ status: 404, body: '404 page not found\n' });

/** `GET /api/{endpoint}/ping` for a configured endpoint (else invalidEndpoint): a Go map, so
 * `endpoint` comes before `status`. Content-Type: application/json. */
export function pingAnswer(endpoint: string): DripletAnswer {
  return { status: 200, body: `{"endpoint":${goString(endpoint)},"status":"ok"}\n` };
}
