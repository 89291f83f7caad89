// fanout-v2: the fanout workload with v2 clients on the key (#13: a v2 client costs no more than a
// Goctopus client per delivery).
import { FANOUT_WAVES, runWaves, waveMetrics } from './fanout.js';
import { PLAIN, type Scenario } from './types.js';

export const fanoutV2: Scenario = {
  name: 'fanout-v2',
  description:
    'The fanout workload (2,000 sockets on one key, 20 warm-up then 200 measured closed-loop messages of 100 bytes, every ' +
    'frame checked), but every socket offers the subprotocol `octoway.v2` (checked in the 101) and so receives v2 frames, ' +
    '`{"type":"message","id":…,"key":"fan","payload":…}` (history off: no seq), built once per message for the v2 sockets\' ' +
    'own uWS topic. The client reads the v2 frame as it reads a Goctopus one (the id, then the payload found past the address, ' +
    'never parsed). The frame is 29 bytes longer than the Goctopus one (about 155): the goal, server CPU/delivery ≤ 1.05× the ' +
    'fanout table\'s Octoway figure, allows for those bytes and nothing else. Octoway only; the first column is that figure, ' +
    'the ratio divides the v2 figure by it.',
  targets: ['octoway'],
  variants: () => PLAIN,
  metrics: waveMetrics,
  cpuSensitive: true,
  timeoutMs: 240_000,
  beside: 'fanout',
  run: (ctx) => runWaves(ctx, { ...FANOUT_WAVES, protocol: 'octoway.v2' }),
};
