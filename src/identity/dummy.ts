// Goctopus's dummy authorizer (WS_AUTHORIZER=dummy): every upgrade is accepted under one key, the
// text of WS_AUTH_URL, with no backend asked. For development only: config.ts allows it only with
// WS_INSECURE_NO_AUTH=true, and the start logs a warning.
import type { Authenticator, AuthResult } from './authenticator.js';
import type { Identity } from './identity.js';

export function createDummyAuthenticator(key: string): Authenticator {
  const identity: Identity = Object.freeze({
    subject: undefined, session: undefined, keys: Object.freeze([key]), claims: undefined,
    grants: Object.freeze({ subscribe: Object.freeze([]), publish: Object.freeze([]) }), expiresAt: undefined,
  });
  const result: AuthResult = { ok: true, identity };
  return {
    authenticate: async () => result,
    load: { waiting: 0, inFlight: 0 },
    close: async () => undefined,
  };
}
