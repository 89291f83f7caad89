// Token refresh on an open socket: `{"type":"refresh","token":"<jwt>"}` with a valid token for the
// same subject moves the socket's expiry to the new token's `exp`, answered with
// `{"type":"refreshed","expires_at":<unix seconds>}`. Anything else is answered with
// `{"type":"error","code","message"}` and changes nothing. Only the expiry moves: the socket's keys,
// session, claims and grants stay those it opened with.
import { OctowayError, type ErrorCode } from '../errors.js';
import { grantsOf } from '../identity/jwt-grants.js';
import type { JwtVerifier } from '../identity/jwt-verifier.js';
import type { Logger } from '../log.js';
import { connectionId, type Connection, type Socket } from './connection.js';
import type { ExpiryWheel } from './expiry.js';

/** Longest refresh frame read: a token as long as the verifier takes, and the JSON around it. */
export const MAX_REFRESH_BYTES = 16 * 1024 + 64;

/** `ref` (a v2 client's request id, a string or a number) is echoed in the answer. */
export type Refresher = (ws: Socket, frame: { readonly token?: unknown; readonly ref?: unknown }) => void;

export function createRefresher(verifier: JwtVerifier, wheel: ExpiryWheel, log: Logger): Refresher {
  const reply = (ws: Socket, data: Connection, body: Record<string, unknown>, ref: unknown): void => {
    // The socket may have closed while the token was being verified (uWS throws on a closed one).
    if (data.closed) return;
    const echoed = (typeof ref === 'string' && ref.length <= 200) || (typeof ref === 'number' && Number.isFinite(ref));
    ws.send(JSON.stringify(echoed ? { ...body, ref } : body), false);
  };
  const refuse = (ws: Socket, data: Connection, error: OctowayError, ref: unknown): void => {
    if (log.isLevelEnabled('debug')) log.debug({ conn: connectionId(data), code: error.code }, 'token refresh refused');
    reply(ws, data, { type: 'error', code: error.code, message: error.message }, ref);
  };
  const refusal = (code: ErrorCode): OctowayError => new OctowayError(code);

  return (ws, frame) => {
    const data = ws.getUserData();
    if (typeof frame.token !== 'string' || frame.token === '') return refuse(ws, data, refusal('REFRESH_INVALID'), frame.ref);
    // Nothing to extend: the socket does not expire (forward auth, a ticket, a token without exp).
    if (data.closeAt === 0) return refuse(ws, data, refusal('REFRESH_NOT_EXPIRING'), frame.ref);
    const subject = data.identity.subject;
    void verifier.verify(frame.token).then((verified) => {
      if (data.closed) return;
      if (verified instanceof OctowayError) return refuse(ws, data, verified, frame.ref);
      const grants = grantsOf(verified.claims as Readonly<Record<string, unknown>>);
      if (grants instanceof OctowayError) return refuse(ws, data, grants, frame.ref);
      if (subject === undefined || grants.subject !== subject) return refuse(ws, data, refusal('REFRESH_SUBJECT_MISMATCH'), frame.ref);
      // A token without exp would make the socket immortal; a refresh exists to move an expiry.
      if (verified.expiresAt === undefined) return refuse(ws, data, refusal('JWT_EXP_INVALID'), frame.ref);
      const expiresAt = Math.floor(verified.expiresAt / 1000);
      wheel.schedule(ws, expiresAt);
      reply(ws, data, { type: 'refreshed', expires_at: expiresAt }, frame.ref);
    }).catch((err: unknown) => {
      // verify never rejects; a send on a socket uWS already freed would throw: the socket is gone.
      log.debug({ err }, 'token refresh could not answer');
    });
  };
}
