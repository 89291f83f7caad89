// The memory replay guard against the contract, plus its bound: full, it forgets the oldest and
// refuses everything dated at or before it rather than admit a replay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryReplayGuard } from '../../src/http/memory-replay-guard.js';
import { replayGuardContract } from './replay-guard.contract.js';

replayGuardContract('MemoryReplayGuard', async (toleranceMs) => {
  const guard = new MemoryReplayGuard(toleranceMs);
  return { guards: [guard, guard], close: async () => {} };
});

const sig = (n: number): string => n.toString(16).padStart(8, '0').padEnd(64, 'a');

test('bounded: past its size the oldest is forgotten, and what is dated at or before it is refused as too old', () => {
  const now = 1_000_000_000_000;
  const guard = new MemoryReplayGuard(300_000, 3);
  const t0 = now / 1000;
  assert.equal(guard.claim(sig(1), t0 - 10, now), 'first');
  assert.equal(guard.claim(sig(2), t0 - 5, now), 'first');
  assert.equal(guard.claim(sig(3), t0 - 1, now), 'first');
  assert.equal(guard.claim(sig(4), t0, now), 'first');
  assert.equal(guard.size, 3);
  assert.equal(guard.claim(sig(1), t0 - 10, now), 'too-old', 'the forgotten signature cannot be replayed');
  assert.equal(guard.claim(sig(9), t0 - 10, now), 'too-old', 'nor anything else of its date');
  assert.equal(guard.claim(sig(2), t0 - 5, now), 'replayed');
  assert.equal(guard.claim(sig(5), t0 - 9, now), 'first', 'later dates are still accepted');
});

test('signatures past the tolerance are swept as claims arrive: memory follows the rate, not the total', () => {
  const guard = new MemoryReplayGuard(10_000);
  let now = 1_000_000_000_000;
  for (let i = 0; i < 10_000; i++) {
    now += 10; // 100 signed requests per second
    assert.equal(guard.claim(sig(i), Math.floor(now / 1000), now), 'first');
  }
  assert.ok(guard.size <= 1_200, `about 10 s of requests are remembered, not all 10,000 (${guard.size})`);
});
