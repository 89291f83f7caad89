// takeInboundFrame: a token bucket of `burst` frames refilled by `framesPerSecond` each second.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { creditSyncFrames, takeInboundFrame } from '../../src/socket/inbound-budget.js';

const limits = { framesPerSecond: 10, burst: 20 };

test('a burst passes, the frame after it does not', () => {
  const data = { inboundSpent: 0, inboundAt: 100, inboundCredit: 0 };
  for (let i = 0; i < 20; i++) assert.equal(takeInboundFrame(data, limits, 100), true, `frame ${i}`);
  assert.equal(takeInboundFrame(data, limits, 100), false);
});

test('each second gives framesPerSecond back, never more than the burst', () => {
  const data = { inboundSpent: 20, inboundAt: 100, inboundCredit: 0 };
  for (let i = 0; i < 10; i++) assert.equal(takeInboundFrame(data, limits, 101), true);
  assert.equal(takeInboundFrame(data, limits, 101), false);
  const idle = { inboundSpent: 20, inboundAt: 100, inboundCredit: 0 };
  let passed = 0;
  while (takeInboundFrame(idle, limits, 200)) passed++;
  assert.equal(passed, 20);
});

test('a client sending at the rate is never refused', () => {
  const data = { inboundSpent: 0, inboundAt: 0, inboundCredit: 0 };
  for (let second = 0; second < 100; second++) {
    for (let i = 0; i < 10; i++) assert.equal(takeInboundFrame(data, limits, second), true);
  }
});

test('frames credited as the socket went live pass before the bucket, then the bucket applies', () => {
  const data = { inboundSpent: 0, inboundAt: 100, inboundCredit: 0, acksInFlight: 0 };
  creditSyncFrames(data, 300);
  assert.equal(data.acksInFlight, -300, 'the acknowledgement cap is raised by the credit');
  for (let i = 0; i < 300; i++) assert.equal(takeInboundFrame(data, limits, 100), true, `credited frame ${i}`);
  assert.equal(data.inboundSpent, 0, 'credited frames leave the bucket full');
  for (let i = 0; i < 20; i++) assert.equal(takeInboundFrame(data, limits, 100), true, `burst frame ${i}`);
  assert.equal(takeInboundFrame(data, limits, 100), false);
});

test('inboundAt is the second of the last frame, credited or not (last_seen), and refilling early leaves the same bucket', () => {
  const credited = { inboundSpent: 20, inboundAt: 100, inboundCredit: 1 };
  assert.equal(takeInboundFrame(credited, limits, 105), true);
  assert.deepEqual(credited, { inboundSpent: 0, inboundAt: 105, inboundCredit: 0 });
  // The same frames without the early refill would leave 0 spent at 106 too: 20 - 6 * 10, floored at 0.
  assert.equal(takeInboundFrame(credited, limits, 106), true);
  assert.deepEqual(credited, { inboundSpent: 1, inboundAt: 106, inboundCredit: 0 });
});
