// Trusted-proxy matching (WS_TRUSTED_PROXIES): which TCP peers may vouch for X-Forwarded-* headers.
import { BlockList, isIP } from 'node:net';
import { OctowayError } from '../errors.js';

export type ProxyMatcher = (address: string) => boolean;

/** Builds a matcher from IPs and CIDRs (v4 and v6). Every bad entry is reported at once, since this
 * runs at start-up where the operator wants the whole list of mistakes. IPv4-mapped IPv6 peers
 * (`::ffff:10.0.0.1`) match IPv4 entries, because BlockList compares them as the same address. */
export function createProxyMatcher(entries: readonly string[]): ProxyMatcher {
  const list = new BlockList();
  const problems: string[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    const problem = addEntry(list, entry);
    if (problem !== undefined) problems.push(`"${entry}" ${problem}`);
  }
  if (problems.length > 0) {
    throw new OctowayError('CONFIG_INVALID', `WS_TRUSTED_PROXIES: ${problems.join('; ')}`);
  }
  // BlockList.check builds a SocketAddress per call (~2 µs, once per upgrade); clients come back
  // from the same addresses (often a few proxies), so answers are remembered, boundedly.
  const known = new Map<string, boolean>();
  return (address) => {
    let trusted = known.get(address);
    if (trusted !== undefined) return trusted;
    const family = isIP(address);
    trusted = family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
    if (known.size >= MEMO_MAX) known.clear();
    known.set(address, trusted);
    return trusted;
  };
}

/** Addresses whose answer is remembered; past it the memo starts over. */
const MEMO_MAX = 4096;

/** Returns what is wrong with the entry, or undefined once it is added. */
function addEntry(list: BlockList, entry: string): string | undefined {
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return 'is not an IP address or CIDR';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (slash === -1) {
    list.addAddress(address, type);
    return undefined;
  }
  const prefixText = entry.slice(slash + 1);
  const prefix = Number(prefixText);
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefixText) || prefix > max) return `has a prefix length outside 0-${max}`;
  list.addSubnet(address, prefix, type);
  return undefined;
}
