// The ReplayGuard contract, run against every implementation (memory-replay-guard.test.ts,
// redis-replay-guard.test.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ReplayGuard } from '../../src/http/replay-guard.js';

export interface GuardFixture {
  /** Two guards sharing what they remember, as two nodes do (the same guard twice for memory). */
  readonly guards: readonly [ReplayGuard, ReplayGuard];
  close(): Promise<void>;
}

export type GuardFactory = (toleranceMs: number) => Promise<GuardFixture>;

const signature = (): string => randomBytes(32).toString('hex');
const nowS = (): number => Math.floor(Date.now() / 1000);

export function replayGuardContract(name: string, factory: GuardFactory): void {
  describe(`${name} (ReplayGuard contract)`, () => {
    test('a signature is first once, then replayed, on either guard', async () => {
      const { guards: [a, b], close } = await factory(300_000);
      try {
        const sig = signature();
        assert.equal(await a.claim(sig, nowS()), 'first');
        assert.equal(await a.claim(sig, nowS()), 'replayed');
        assert.equal(await b.claim(sig, nowS()), 'replayed');
        assert.equal(await b.claim(signature(), nowS()), 'first', 'another signature is unaffected');
      } finally {
        await close();
      }
    });

    test('of fifty concurrent claims of one signature over both guards, exactly one is first', async () => {
      const { guards, close } = await factory(300_000);
      try {
        const sig = signature();
        const verdicts = await Promise.all(Array.from({ length: 50 }, (_, i) => guards[i % 2]!.claim(sig, nowS())));
        assert.equal(verdicts.filter((v) => v === 'first').length, 1);
        assert.equal(verdicts.filter((v) => v === 'replayed').length, 49);
      } finally {
        await close();
      }
    });

    test('remembered while its date is within the tolerance, as judged at the time of the replay', async () => {
      const { guards: [a], close } = await factory(60_000);
      try {
        const sig = signature();
        const t = nowS() - 50; // signed 50 s ago: 10 s of tolerance left
        assert.equal(await a.claim(sig, t), 'first');
        assert.equal(await a.claim(sig, t, Date.now() + 5_000), 'replayed', 'still remembered 5 s later');
      } finally {
        await close();
      }
    });
  });
}
