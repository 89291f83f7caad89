// Goctopus's dummy authorizer (WS_AUTHORIZER=dummy): every upgrade is accepted under one key, the
// text of WS_AUTH_URL, with no backend asked. For development only: config.ts allows it only with
// WS_INSECURE_NO_AUTH=true, and the start logs a warning.
import type { Authenticator, AuthResult } from './authenticator.js';

export function createDummyAuthenticator(key: string): Authenticator {
  const result: AuthResult = { ok: true, keys: [key] };
  return {
    authenticate: async () => result,
    load: { waiting: 0, inFlight: 0 },
    close: async () => undefined,
  };
}
