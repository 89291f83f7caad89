// The WebSocket handshake's own rules (RFC 6455 §4.2.1), checked before anything else an upgrade
// costs. Octoway sees repeated headers joined (`close, Upgrade`) while uWS reads only the first
// one, so a request that looks valid to one and not to the other must never reach res.upgrade:
// uWS marks a request whose first Connection header is `close` to be closed once answered, and
// upgrading such a request after the asynchronous auth call crashed the process (SIGSEGV).
// Guarantee: a request this accepts has exactly one of each handshake header, so both views agree.
import { listsToken } from '../identity/headers.js';
import { OctowayError } from '../errors.js';

/** The only version RFC 6455 defines; a 426 names it in Sec-WebSocket-Version. */
export const WEBSOCKET_VERSION = '13';

/** Headers uWS reads for the handshake. Each must appear exactly once. */
const HANDSHAKE_HEADERS = ['connection', 'upgrade', 'sec-websocket-key', 'sec-websocket-version'] as const;

/** Base64 of 16 bytes: 22 characters and the `==` padding (RFC 6455 §4.1, item 7). */
const KEY_PATTERN = /^[A-Za-z0-9+/]{22}==$/;

/**
 * Why `headers` (names lower-cased, repeated ones joined with ", ") are not a valid handshake, or
 * undefined when they are. `repeated` lists the names that occurred more than once.
 */
export function handshakeError(headers: Readonly<Record<string, string>>, repeated: readonly string[]): OctowayError | undefined {
  for (const name of HANDSHAKE_HEADERS) {
    if (repeated.includes(name)) return invalid(`the ${name} header must appear once`);
  }
  const connection = (headers['connection'] ?? '').toLowerCase();
  if (!listsToken(connection, 'upgrade')) return invalid('the Connection header must include the token "Upgrade"');
  // uWS would close the connection under the new WebSocket (see the header comment).
  if (listsToken(connection, 'close')) return invalid('the Connection header must not include the token "close"');
  if (!listsToken((headers['upgrade'] ?? '').toLowerCase(), 'websocket')) return invalid('the Upgrade header must be "websocket"');
  if (!KEY_PATTERN.test(headers['sec-websocket-key'] ?? '')) return invalid('Sec-WebSocket-Key must be the base64 of 16 bytes');
  const version = headers['sec-websocket-version'];
  if (version === undefined || version === '') return invalid('the Sec-WebSocket-Version header is missing');
  if (version.trim() !== WEBSOCKET_VERSION) return new OctowayError('UNSUPPORTED_WEBSOCKET_VERSION');
  return undefined;
}

function invalid(message: string): OctowayError {
  return new OctowayError('INVALID_HANDSHAKE', `${message} (RFC 6455)`);
}
