// The per-address token buckets (src/http/rate-limit.ts) on a clock the test moves: burst, refill,
// Retry-After, bounded memory where eviction only forgives, and which address a request counts against.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bucketKey, clientAddress, createRateLimit, type RateLimit, type RateLimitOptions } from '../../src/http/rate-limit.js';
import { createProxyMatcher } from '../../src/identity/proxies.js';

const NOBODY = createProxyMatcher([]);
const LOOPBACK = createProxyMatcher(['127.0.0.0/8', '10.0.0.0/8']);

function limiter(options: Partial<RateLimitOptions> = {}): { limit: RateLimit; advance: (ms: number) => void } {
  let now = 0;
  const limit = createRateLimit({ perSecond: 2, burst: 3, isTrusted: NOBODY, now: () => now, ...options });
  assert.ok(limit !== undefined);
  return { limit, advance: (ms) => { now += ms; } };
}

const allowed = (limit: RateLimit, peer: string, forwardedFor?: string): boolean => limit.take(peer, forwardedFor) === undefined;

test('WS_RATE_LIMIT=0 creates no limit at all', () => {
  assert.equal(createRateLimit({ perSecond: 0, burst: 1, isTrusted: NOBODY }), undefined);
});

test('a burst, then RATE_LIMITED with the seconds until the next token; refills at the rate, up to the burst', () => {
  const { limit, advance } = limiter({ perSecond: 2, burst: 3 });
  assert.deepEqual([1, 2, 3].map(() => allowed(limit, '192.0.2.1')), [true, true, true]);
  const refusal = limit.take('192.0.2.1', undefined);
  assert.equal(refusal?.code, 'RATE_LIMITED');
  assert.equal(refusal?.status, 429);
  assert.equal(refusal?.retryAfter, 1);
  // Refusals cost nothing: half a second later (one token at 2/s) exactly one more is allowed.
  advance(500);
  assert.equal(allowed(limit, '192.0.2.1'), true);
  assert.equal(allowed(limit, '192.0.2.1'), false);
  // Idle for an hour: back to the burst, not beyond.
  advance(3_600_000);
  assert.deepEqual([1, 2, 3, 4].map(() => allowed(limit, '192.0.2.1')), [true, true, true, false]);
  // Other addresses have their own bucket.
  assert.equal(allowed(limit, '192.0.2.2'), true);
});

test('Retry-After rounds the wait up to whole seconds, at least 1', () => {
  const { limit } = limiter({ perSecond: 0.1, burst: 1 });
  assert.equal(allowed(limit, '192.0.2.1'), true);
  assert.equal(limit.take('192.0.2.1', undefined)?.retryAfter, 10);
  const fast = limiter({ perSecond: 1000, burst: 1 }).limit;
  assert.equal(allowed(fast, '192.0.2.1'), true);
  assert.equal(fast.take('192.0.2.1', undefined)?.retryAfter, 1);
});

test('bounded: rotating addresses never hold more than maxBuckets, and eviction only forgives', () => {
  const { limit } = limiter({ perSecond: 1, burst: 1, maxBuckets: 100 });
  // A client over its budget, seen again between every rotation, keeps its bucket (least recently
  // used goes first) and stays refused.
  assert.equal(allowed(limit, '198.51.100.7'), true);
  for (let i = 0; i < 10_000; i++) {
    allowed(limit, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    if (i % 50 === 0) assert.equal(allowed(limit, '198.51.100.7'), false, `still limited after ${i} other addresses`);
    assert.ok(limit.size <= 100);
  }
  assert.equal(limit.size, 100);
  // One left alone while 100 others come: evicted, so it starts again with a full bucket.
  const idle = limiter({ perSecond: 1, burst: 1, maxBuckets: 100 }).limit;
  assert.equal(allowed(idle, '198.51.100.8'), true);
  assert.equal(allowed(idle, '198.51.100.8'), false);
  for (let i = 0; i < 100; i++) allowed(idle, `10.0.0.${i}`);
  assert.equal(allowed(idle, '198.51.100.8'), true);
});

test('property: in any window, a client gets at most burst + rate × window requests', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 20 }),
    fc.integer({ min: 1, max: 20 }),
    fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 300 }),
    (perSecond, burst, gaps) => {
      const { limit, advance } = limiter({ perSecond, burst });
      const times: number[] = [];
      let t = 0;
      for (const gap of gaps) {
        advance(gap);
        t += gap;
        if (allowed(limit, '192.0.2.9')) times.push(t);
      }
      for (let i = 0; i < times.length; i++) {
        for (let j = i; j < times.length; j++) {
          const windowMs = (times[j] as number) - (times[i] as number);
          if (j - i + 1 > burst + (perSecond * windowMs) / 1000 + 1e-9) return false;
        }
      }
      return true;
    },
  ));
});

test('X-Forwarded-For counts only from a trusted peer: the first untrusted hop from the right', () => {
  assert.equal(clientAddress('203.0.113.5', '198.51.100.1', LOOPBACK), '203.0.113.5', 'untrusted peer: its own address');
  assert.equal(clientAddress('127.0.0.1', undefined, LOOPBACK), '127.0.0.1');
  assert.equal(clientAddress('127.0.0.1', '198.51.100.1', LOOPBACK), '198.51.100.1');
  // A client writing its own X-Forwarded-For gets it prepended, not believed.
  assert.equal(clientAddress('127.0.0.1', '1.1.1.1, 198.51.100.1, 10.0.0.2', LOOPBACK), '198.51.100.1');
  // Every hop trusted: the leftmost.
  assert.equal(clientAddress('127.0.0.1', '10.0.0.3, 10.0.0.2', LOOPBACK), '10.0.0.3');
  // Not an address: the hop that appended it is the client.
  assert.equal(clientAddress('127.0.0.1', '198.51.100.1, unknown, 10.0.0.2', LOOPBACK), '10.0.0.2');
  assert.equal(clientAddress('127.0.0.1', 'garbage', LOOPBACK), '127.0.0.1');
  // WS_TRUST_PROXY_HEADERS=true trusts every peer: the leftmost address.
  const everyone = createProxyMatcher(['0.0.0.0/0', '::/0']);
  assert.equal(clientAddress('203.0.113.5', '198.51.100.1, 203.0.113.9', everyone), '198.51.100.1');
  assert.equal(clientAddress('2001:db8::1', '2001:db8:1::5', everyone), '2001:db8:1::5');
});

test('IPv6 addresses share a bucket per /64; IPv4-mapped ones count as IPv4', () => {
  assert.equal(bucketKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(bucketKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
  assert.equal(bucketKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(bucketKey('::1'), '0:0:0:0::/64');
  assert.equal(bucketKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(bucketKey('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64');
  assert.equal(bucketKey('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(bucketKey('192.0.2.1'), '192.0.2.1');
  // Every spelling of an address (zeros, case, where `::` falls) gives the same bucket as the
  // canonical one the URL parser writes.
  fc.assert(fc.property(fc.ipV6(), (address) => {
    const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
    // IPv4-mapped addresses count as IPv4 (checked above); the URL parser writes them in hex.
    fc.pre(!canonical.startsWith('::ffff:'));
    return bucketKey(address) === bucketKey(canonical) && bucketKey(address.toUpperCase()) === bucketKey(canonical);
  }), { numRuns: 2000 });
  const { limit } = limiter({ perSecond: 1, burst: 1 });
  assert.equal(allowed(limit, '2001:db8:1:2::1'), true);
  assert.equal(allowed(limit, '2001:db8:1:2::ffff'), false, 'same /64');
  assert.equal(allowed(limit, '2001:db8:1:3::1'), true, 'next /64');
});
