// The mode selector: one authenticator per upgrade, chosen from what the request carries (a ticket
// parameter -> ticket, a token -> jwt, else forward: see modes.ts), and a presented credential
// that fails never falls through to another mode.
import { OctowayError } from '../errors.js';
import type { Authenticator, UpgradeRequest } from './authenticator.js';

/**
 * `pick` names the authenticator for a request, or the error refusing it (a mode that is not
 * enabled, say). The composite's load is the sum of its parts'; close() closes each once.
 */
export function selectAuthenticator(
  authenticators: readonly Authenticator[],
  pick: (request: UpgradeRequest) => Authenticator | OctowayError,
): Authenticator {
  const parts = [...new Set(authenticators)];
  return {
    authenticate(request, signal) {
      const chosen = pick(request);
      if (chosen instanceof OctowayError) return Promise.resolve({ ok: false, error: chosen });
      return chosen.authenticate(request, signal);
    },
    load: {
      get waiting() { return parts.reduce((n, a) => n + a.load.waiting, 0); },
      get inFlight() { return parts.reduce((n, a) => n + a.load.inFlight, 0); },
    },
    async close() {
      await Promise.all(parts.map((a) => a.close()));
    },
  };
}
