// `since`: the stream positions a v2 client saw last (docs/protocol.md, Recovery), read from a
// subscribe frame (topics) or from the connect URL (keys). Checked here, before anything is done.
import { OctowayError } from '../errors.js';

/** A `since` object `{name: seq}` whose names are all among `names`: the positions by name. */
export function sinceOf(value: unknown, names: readonly string[]): Map<string, number> | OctowayError {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return new OctowayError('SINCE_INVALID');
  const out = new Map<string, number>();
  for (const [name, seq] of Object.entries(value as Record<string, unknown>)) {
    if (!names.includes(name) || !Number.isSafeInteger(seq) || (seq as number) < 0) return new OctowayError('SINCE_INVALID');
    out.set(name, seq as number);
  }
  return out;
}

/** The connect URL's `since` (URL-encoded JSON `{"<key>": seq, …}`) for a socket under `keys`
 * (names) at `addresses` (their addresses, aligned): positions by key address, undefined without
 * one. Keys the socket is not under are refused, as any malformed value. */
export function keysSinceOf(query: string, keys: readonly string[], addresses: readonly string[]): Map<string, number> | OctowayError | undefined {
  if (!query.includes('since=')) return undefined;
  const text = new URLSearchParams(query).get('since');
  if (text === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return new OctowayError('SINCE_INVALID');
  }
  const byName = sinceOf(parsed, keys);
  if (byName instanceof OctowayError) return byName;
  const out = new Map<string, number>();
  for (const [name, seq] of byName) out.set(addresses[keys.indexOf(name)] as string, seq);
  return out.size === 0 ? undefined : out;
}
