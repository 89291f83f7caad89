// fanout-topic: the fanout workload on a topic: v2 clients subscribed to one topic, messages
// published with `{"topic": …}` (#13's speed goal: topics stay on uWS's C++ publish path).
import { fileURLToPath } from 'node:url';
import { FANOUT_WAVES, runWaves, waveMetrics } from './fanout.js';
import type { Scenario } from './types.js';

const EXPORTER = fileURLToPath(new URL('../topic-exporter.js', import.meta.url));
const TOPIC = 'fan';

export const fanoutTopic: Scenario = {
  name: 'fanout-topic',
  description:
    'The fanout workload on a topic: 2,000 v2 clients (subprotocol `octoway.v2`, checked in the 101) each send ' +
    `\`{"type":"subscribe","topic":"${TOPIC}"}\` once open (the run waits for all 2,000 \`subscribed\` answers; any \`error\` ` +
    'frame fails it), then 20 warm-up and 200 measured messages of 100 bytes are published closed-loop with ' +
    `\`POST / {"topic":"${TOPIC}","value":…}\`: message n+1 leaves once all 2,000 sockets got message n, every frame checked ` +
    '(id equal to the POST\'s, order, no duplicate). Octoway runs with an exporter granting every topic and the history off ' +
    '(its default: frames carry no seq). The bare uWebSockets.js reference does the same work: its sockets subscribe with ' +
    'the same frame (answered `subscribed`) to a uWS topic of their own namespace, and it publishes the same bytes Octoway ' +
    'writes to a v2 socket, `{"type":"message","id":…,"topic":…,"payload":…}`, with one app.publish. The ws reference has no ' +
    'topics and is not run. Goals: deliveries/s ≥ 0.9× bare, server CPU/delivery ≤ 1.1× bare.',
  targets: ['octoway', 'bare'],
  // The exporter is Octoway's (the bare reference reads PORT only).
  variants: () => [{ name: '', env: { WS_AUTH_EXPORTER: EXPORTER } }],
  metrics: waveMetrics,
  cpuSensitive: true,
  timeoutMs: 240_000,
  run: (ctx) => runWaves(ctx, {
    ...FANOUT_WAVES,
    protocol: 'octoway.v2',
    subscribeTopic: TOPIC,
    bodyOf: (_key, v) => `{"topic":"${TOPIC}","value":${v}}`,
  }),
};
