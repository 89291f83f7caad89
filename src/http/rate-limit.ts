// Per-client request budgets (WS_RATE_LIMIT, WS_RATE_BURST): one token bucket per client address,
// shared by WebSocket upgrades and API requests, checked before anything costly (credentials, the
// auth endpoint). Buckets live in a bounded LRU: an attacker rotating addresses evicts the least
// recently seen buckets, and an evicted client comes back with a full bucket, so eviction only
// ever forgives, and memory stays bounded whatever the traffic.
import { isIP } from 'node:net';
import { LRUCache } from 'lru-cache';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { OctowayError } from '../errors.js';
import { peerAddress } from './exchange.js';
import type { ProxyMatcher } from '../identity/proxies.js';

export interface RateLimitOptions {
  /** Requests per second refilled into each bucket; 0 turns the limit off. */
  readonly perSecond: number;
  /** The bucket's size: requests a client may make at once. */
  readonly burst: number;
  /** Peers whose X-Forwarded-For is believed (WS_TRUSTED_PROXIES). */
  readonly isTrusted: ProxyMatcher;
  /** Buckets kept at most (default MAX_BUCKETS). */
  readonly maxBuckets?: number;
  /** Milliseconds on a monotonic clock (default performance.now); tests pass their own. */
  readonly now?: () => number;
}

export interface RateLimit {
  /** Takes one request from the budget of the client behind `peer` (the TCP peer's address);
   * returns the refusal (RATE_LIMITED with Retry-After), or undefined. `forwardedFor`, every
   * X-Forwarded-For value comma-joined, is read only when the peer is trusted. */
  take(peer: string, forwardedFor: string | undefined): OctowayError | undefined;
  /** take() for a uWS request: reads the peer and, from a trusted peer only, X-Forwarded-For.
   * Call before the handler returns (uWS invalidates req then). */
  takeHttp(res: HttpResponse, req: HttpRequest): OctowayError | undefined;
  /** Buckets held now. */
  readonly size: number;
}

/** About 270 bytes each with IPv6 keys (key, bucket, cache slots), measured: at most about 27 MB. */
export const MAX_BUCKETS = 100_000;

interface Bucket {
  tokens: number;
  /** now() when `tokens` was last brought up to date. */
  at: number;
}

/** The limit, or undefined when WS_RATE_LIMIT is 0: callers then skip it with one property check,
 * so an unlimited gateway pays nothing per request. */
export function createRateLimit(options: RateLimitOptions): RateLimit | undefined {
  const { perSecond, burst, isTrusted } = options;
  if (perSecond <= 0) return undefined;
  const maxBuckets = options.maxBuckets ?? MAX_BUCKETS;
  const now = options.now ?? (() => performance.now());
  const perMs = perSecond / 1000;
  // lru-cache: get() marks the bucket most recently used and set() past `max` drops the least
  // recently used, both in constant time. (A Map re-inserted on use is not: V8 leaves a hole per
  // delete, and finding the oldest entry scans them; measured at 128 µs a request under address
  // rotation, against 0.3 µs here.)
  const buckets = new LRUCache<string, Bucket>({ max: maxBuckets });

  const take = (peer: string, forwardedFor: string | undefined): OctowayError | undefined => {
    const key = bucketKey(clientAddress(peer, forwardedFor, isTrusted));
    const t = now();
    let bucket = buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: burst, at: t };
      buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(burst, bucket.tokens + (t - bucket.at) * perMs);
      bucket.at = t;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    // A refused request costs nothing, so the wait is exactly until the next token.
    const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
    return new OctowayError('RATE_LIMITED', undefined, { retryAfter });
  };

  return {
    take,
    takeHttp(res, req) {
      const peer = peerAddress(res);
      return take(peer, isTrusted(peer) ? forwardedForOf(req) : undefined);
    },
    get size() {
      return buckets.size;
    },
  };
}

/**
 * The client's address: the peer's, unless the peer is a trusted proxy and sent X-Forwarded-For.
 * Then the chain is read right to left (each proxy appends the address it saw) and the first
 * address that is not a trusted proxy is the client; if all are trusted, the leftmost. An entry
 * that is not an IP address ends the walk: the address that appended it is the client, as far as
 * anyone trusted can tell.
 */
export function clientAddress(peer: string, forwardedFor: string | undefined, isTrusted: ProxyMatcher): string {
  if (forwardedFor === undefined || forwardedFor === '' || !isTrusted(peer)) return peer;
  const hops = forwardedFor.split(',');
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = (hops[i] as string).trim();
    if (isIP(hop) === 0) break;
    client = hop;
    if (!isTrusted(hop)) break;
  }
  return client;
}

/** The bucket an address counts against: IPv4 addresses (mapped ones too) alone; IPv6 addresses
 * by their /64, the block one subscriber or host usually holds whole, so an attacker cannot get a
 * fresh bucket by taking the next address of its own block. */
export function bucketKey(address: string): string {
  // Addresses here are valid already (the peer's from uWS, forwarded hops checked by isIP): any
  // colon means IPv6. The text form varies (case, zeros, where `::` falls), so the first four
  // groups are read as numbers.
  if (!address.includes(':')) return address;
  const bare = address.toLowerCase().split('%')[0] as string;
  if (bare.startsWith('::ffff:') && bare.includes('.')) return bare.slice(7);
  const gap = bare.indexOf('::');
  const head = gap === -1 ? bare : bare.slice(0, gap);
  const groups = head === '' ? [] : head.split(':');
  if (groups.length < 4) {
    // `::` stands for zeros up to the groups after it; count those (an IPv4 tail is two groups).
    const tailText = gap === -1 ? '' : bare.slice(gap + 2);
    const tail = tailText === '' ? [] : tailText.split(':');
    const tailGroups = tail.length + (tail.length > 0 && (tail[tail.length - 1] as string).includes('.') ? 1 : 0);
    const zeros = 8 - groups.length - tailGroups;
    for (let i = 0; i < zeros && groups.length < 4; i++) groups.push('0');
    for (let i = 0; groups.length < 4; i++) groups.push(tail[i] as string);
  }
  return `${parseInt(groups[0] as string, 16).toString(16)}:${parseInt(groups[1] as string, 16).toString(16)}:${parseInt(groups[2] as string, 16).toString(16)}:${parseInt(groups[3] as string, 16).toString(16)}::/64`;
}

/** Every X-Forwarded-For header of the request, joined (uWS's getHeader returns only the first; a
 * proxy may append its own header line rather than extend the client's). */
function forwardedForOf(req: HttpRequest): string | undefined {
  let joined: string | undefined;
  req.forEach((name, value) => {
    if (name === 'x-forwarded-for') joined = joined === undefined ? value : `${joined}, ${value}`;
  });
  return joined;
}
