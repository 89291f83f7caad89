// The routing-key rule, for keys published to and for the keys a socket opens under. One rule for
// both sides guarantees that a socket never opens under a key that no publish could reach.

/** Characters in one key: a key is an address (an e-mail, a team id), not a payload. */
export const MAX_KEY_LENGTH = 1024;

/** Keys one socket opens under. Each costs an entry in the hub and a uWS topic subscription per
 * socket, and presence in Redis per node; a user's own key and a few teams are far below it. */
export const MAX_KEYS_PER_SOCKET = 100;

/** NUL is refused: it separates the parts of an address (delivery/address.ts), so a name holding
 * one could forge another app's or another kind's address. */
export function isValidKey(key: unknown): key is string {
  return typeof key === 'string' && key !== '' && key.length <= MAX_KEY_LENGTH && !key.includes('\u0000');
}

/** Which limit a socket's keys break ('count' first), or undefined when they are all usable. */
export function socketKeysLimit(keys: readonly string[]): 'count' | 'length' | undefined {
  if (keys.length > MAX_KEYS_PER_SOCKET) return 'count';
  return keys.every(isValidKey) ? undefined : 'length';
}
