// Which upgrade-request headers reach the auth backend, and the X-Forwarded-* set the gateway adds.
import type { UpgradeRequest } from './authenticator.js';
import type { ProxyMatcher } from './proxies.js';

/** Copied from every upgrade request: the usual credentials and what backends check them against. */
const DEFAULT_COPIED = ['cookie', 'authorization', 'origin', 'user-agent', 'accept-language'] as const;

/** Hop-by-hop headers (RFC 9110 §7.6.1) describe the client's connection, not the request; Host and
 * the WebSocket handshake headers describe the gateway's side. The backend call is a bodyless GET,
 * so body-framing headers from the client would corrupt it. */
const NEVER_FORWARDED = new Set([
  'connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host',
  'content-length', 'expect',
]);
const NEVER_FORWARDED_PREFIXES = ['proxy-', 'sec-websocket-'];

/** Set by proxies to describe the client. A client can write them too, so they are believed only
 * from a trusted proxy. */
function isProxyHeader(name: string): boolean {
  return name.startsWith('x-forwarded-') || name === 'forwarded' || name === 'x-real-ip';
}

function isNeverForwarded(name: string): boolean {
  return NEVER_FORWARDED.has(name) || NEVER_FORWARDED_PREFIXES.some((prefix) => name.startsWith(prefix));
}

export interface HeaderBuilder {
  /** The headers for the backend call; names lower-case. */
  (request: UpgradeRequest): Record<string, string>;
  /** The extra names from WS_AUTH_FORWARD_HEADERS that can ever be forwarded, lower-case, deduplicated. */
  readonly extraNames: readonly string[];
}

export function createHeaderBuilder(forwardHeaders: readonly string[], isTrusted: ProxyMatcher): HeaderBuilder {
  const copied = new Set<string>(DEFAULT_COPIED);
  const extraNames: string[] = [];
  for (const raw of forwardHeaders) {
    const name = raw.trim().toLowerCase();
    if (name === '' || isNeverForwarded(name) || copied.has(name)) continue;
    copied.add(name);
    extraNames.push(name);
  }
  const names = [...copied];
  const proxyHeader = names.map(isProxyHeader);
  // Runs once per upgrade: no Set for the Connection list and no intermediate objects.
  const build = (request: UpgradeRequest): Record<string, string> => {
    const trusted = isTrusted(request.remoteAddress);
    const connection = request.headers['connection']?.toLowerCase();
    const out: Record<string, string> = {};
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string;
      const value = request.headers[name];
      if (value === undefined || (proxyHeader[i] === true && !trusted)) continue;
      if (connection !== undefined && listsToken(connection, name)) continue;
      out[name] = value;
    }
    addForwardedFor(out, request, trusted);
    return out;
  };
  return Object.assign(build, { extraNames: Object.freeze(extraNames) });
}

/** Whether a lower-cased comma-separated header (Connection, Upgrade) lists `token`. Splits only
 * when the token occurs at all, which for most it does not. */
export function listsToken(list: string, token: string): boolean {
  if (!list.includes(token)) return false;
  return list.split(',').some((item) => item.trim() === token);
}

/** Adds the X-Forwarded-* set: a trusted proxy's values are kept (the peer appended to its For chain);
 * anyone else's are replaced by what the gateway sees, so a client cannot claim another address. */
function addForwardedFor(out: Record<string, string>, request: UpgradeRequest, trusted: boolean): void {
  const h = request.headers;
  const chain = trusted ? h['x-forwarded-for'] : undefined;
  out['x-forwarded-for'] = chain === undefined ? request.remoteAddress : `${chain}, ${request.remoteAddress}`;
  out['x-forwarded-proto'] = (trusted ? h['x-forwarded-proto'] : undefined) ?? 'http';
  out['x-forwarded-uri'] = (trusted ? h['x-forwarded-uri'] : undefined) ?? requestUri(request);
  const host = (trusted ? h['x-forwarded-host'] : undefined) ?? h['host'];
  if (host !== undefined) out['x-forwarded-host'] = host;
}

function requestUri(request: UpgradeRequest): string {
  return request.query === '' ? request.path : `${request.path}?${request.query}`;
}
