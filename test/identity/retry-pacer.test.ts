// The Retry-After of AUTH_QUEUE_FULL refusals, paced at the rate auth calls complete.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRetryPacer, MAX_RETRY_AFTER_S } from '../../src/identity/retry-pacer.js';

/** A pacer that saw `perSecond` completions a second, evenly, for `seconds` seconds from t=10,000 ms. */
function pacerAt(perSecond: number, seconds: number) {
  const pacer = createRetryPacer();
  const start = 10_000;
  for (let i = 0; i < perSecond * seconds; i++) pacer.completed(start + (i * 1000) / perSecond);
  return { pacer, now: start + seconds * 1000 };
}

test('without a measured rate (a fresh process) a refusal says 1 s', () => {
  assert.equal(createRetryPacer().retryAfter(5_000, 1000), 1);
  // Nor from the first few completions of a process just started.
  const pacer = createRetryPacer();
  for (let i = 0; i < 50; i++) pacer.completed(5_000 + i);
  assert.equal(pacer.retryAfter(5_300, 1000), 1);
});

test('refusals are spread at the completion rate: the queue drains first, then one slot per refusal', () => {
  // Taken as 200/s (the pacer counts on twice the measured rate).
  const { pacer, now } = pacerAt(100, 2);
  // 1,000 waiting at 200/s: 5 s before the first refused client can be taken.
  const first = pacer.retryAfter(now, 1000);
  assert.ok(first >= 5 && first <= 6, `first ${first}`);
  const later = Array.from({ length: 500 }, () => pacer.retryAfter(now, 1000));
  for (let i = 1; i < later.length; i++) assert.ok(later[i]! >= later[i - 1]!, 'never decreases');
  // 500 more refusals at 200/s: 2.5 s after the queue.
  assert.ok(later.at(-1)! >= 7 && later.at(-1)! <= 8, `last ${later.at(-1)}`);
});

test('a burst of refusals with no queue still spreads them', () => {
  const { pacer, now } = pacerAt(500, 1);
  const ras = Array.from({ length: 3000 }, () => pacer.retryAfter(now, 0));
  assert.equal(ras[0], 1);
  assert.equal(ras.at(-1), 3);
});

test('never more than the cap, never less than 1', () => {
  const { pacer, now } = pacerAt(10, 3);
  assert.equal(pacer.retryAfter(now, 1_000_000), MAX_RETRY_AFTER_S);
  const fast = pacerAt(100_000, 1);
  assert.equal(fast.pacer.retryAfter(fast.now, 0), 1);
});

test('a rate measured before a quiet spell is forgotten', () => {
  const { pacer, now } = pacerAt(10, 3);
  assert.ok(pacer.retryAfter(now, 100) > 1);
  const later = createRetryPacer();
  later.completed(0);
  later.completed(500);
  assert.equal(later.retryAfter(60_000, 100), 1);
});
