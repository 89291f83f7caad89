// fanout-compress: the fanout workload with WS_COMPRESS=true and clients that negotiate deflate.
import { FANOUT_WAVES, runWaves, waveMetrics } from './fanout.js';
import type { Scenario } from './types.js';

export const fanoutCompress: Scenario = {
  name: 'fanout-compress',
  description:
    'The fanout workload (2,000 sockets on one key, 20 warm-up then 200 measured closed-loop messages of 100 bytes, every frame ' +
    'checked) on Octoway with WS_COMPRESS=true, every socket offering permessage-deflate (the run fails if one is not granted it). ' +
    'uWS\'s shared compressor keeps no window per socket, so it deflates each frame once per socket: the cost grows with ' +
    'sockets × message size. The 100-byte values are mostly one repeated letter, so they compress well, as JSON usually does. ' +
    'The client inflates on its own core. The first column is the fanout table\'s Octoway figure (no compression); the ratio ' +
    'divides the compressed figure by it. The references are not run: neither negotiates compression here.',
  targets: ['octoway'],
  variants: () => [{ name: 'deflate', env: { WS_COMPRESS: 'true' } }],
  metrics: waveMetrics,
  cpuSensitive: true,
  timeoutMs: 240_000,
  beside: 'fanout',
  run: (ctx) => runWaves(ctx, { ...FANOUT_WAVES, deflate: true }),
};
