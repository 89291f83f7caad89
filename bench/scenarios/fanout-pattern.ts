// fanout-pattern: the fanout workload with every socket under a wildcard key (Goctopus 2026 patterns).
import { FANOUT_WAVES, runWaves, waveMetrics } from './fanout.js';
import { PLAIN, type Scenario } from './types.js';

export const fanoutPattern: Scenario = {
  name: 'fanout-pattern',
  description:
    'The fanout workload (2,000 sockets, 20 warm-up then 200 measured closed-loop messages of 100 bytes, every frame checked), ' +
    'but every socket connects under the pattern `fan/*` and the messages are published to `fan/room`: each message is matched ' +
    'against the node\'s one distinct pattern and published to its uWS topic. The references have no wildcard keys, so this runs ' +
    'on Octoway only; the first column is the fanout table\'s Octoway figure (exact key), the ratio divides the pattern figure by it.',
  targets: ['octoway'],
  variants: () => PLAIN,
  metrics: waveMetrics,
  cpuSensitive: true,
  timeoutMs: 240_000,
  beside: 'fanout',
  run: (ctx) => runWaves(ctx, { ...FANOUT_WAVES, socketKey: 'fan/*', publishKey: 'fan/room' }),
};
