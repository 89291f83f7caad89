// fanout-filter: the fanout workload with a claim filter that half of the sockets match.
import { fileURLToPath } from 'node:url';
import { FANOUT_WAVES, runWaves, waveMetrics } from './fanout.js';
import { wsPath } from './common.js';
import type { Scenario } from './types.js';

const EXPORTER = fileURLToPath(new URL('../filter-exporter.js', import.meta.url));

export const fanoutFilter: Scenario = {
  name: 'fanout-filter',
  description:
    'The fanout workload (2,000 sockets on one key, 20 warm-up then 200 measured closed-loop messages of 100 bytes), but ' +
    'the even sockets carry the claim `role: "in"` and the odd ones `role: "out"`, and every message is published with ' +
    '`filter: {"include": {"role": "in"}}`: 1,000 sockets get each message (checked), the other 1,000 must get none (a frame ' +
    'there fails the run). A filtered message takes the per-socket path (no uWS publish), so the figures are per delivered ' +
    'frame: the goal is at most 2× bare uWebSockets.js\'s server CPU per delivery in fanout. Why that floor: uWS has no ' +
    'per-socket filtering, so a bare reference doing the same work would be a JS loop over sockets matching claims, a ' +
    'hand-written gateway rather than a floor; its plain fanout (one C++ publish, 2,000 frames) is the cheapest way to put ' +
    'a frame on a socket, and the 2× is what the filter and the per-socket send may cost on top. Octoway only; the first ' +
    'column is the fanout table\'s Octoway figure.',
  targets: ['octoway'],
  variants: () => [{ name: 'filter', env: { WS_AUTH_EXPORTER: EXPORTER } }],
  metrics: waveMetrics,
  cpuSensitive: true,
  timeoutMs: 240_000,
  beside: 'fanout',
  run: (ctx) => runWaves(ctx, {
    ...FANOUT_WAVES,
    pathOf: (i) => `${wsPath('fan')}&role=${i % 2 === 0 ? 'in' : 'out'}`,
    keyOfSocket: (i) => i % 2,
    receivers: FANOUT_WAVES.sockets / 2,
    bodyOf: (key, v) => `{"key":"${key}","filter":{"include":{"role":"in"}},"value":${v}}`,
  }),
};
