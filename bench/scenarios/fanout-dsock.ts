// fanout-dsock: the fanout workload through Octoway's dSock listener: 2,000 sockets of one
// dSock user (`/connect?jwt=`), messages sent with dSock's `POST /send?user=fan&type=text`, closed
// loop as in fanout, every frame checked. The body is delivered as is, so each one is written as the
// frame the tracker reads (`{"id":…,"payload":…}`), with the id chosen here.
import { SignJWT } from 'jose';
import { FANOUT_WAVES, runWaves, waveMetrics } from './fanout.js';
import type { Ctx, Metrics, Scenario } from './types.js';

const TOKEN = 'bench-dsock-token';
const JWT_SECRET = 'bench-dsock-jwt-secret-0123456789abcdef';
const USER = 'fan';

async function run(ctx: Ctx): Promise<Metrics> {
  const port = ctx.listeners?.WS_DSOCK_PORT;
  if (port === undefined) throw new Error('fanout-dsock needs the runner to set WS_DSOCK_PORT');
  const jwt = await new SignJWT({ sub: USER }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(JWT_SECRET));
  const credentials = `Authorization: Bearer ${TOKEN}\r\n`;
  return runWaves(ctx, {
    ...FANOUT_WAVES,
    port,
    pathOf: () => `/connect?jwt=${jwt}`,
    request: (m, v) => ({ path: `/send?user=${USER}&type=text`, body: `{"id":"d${m}","payload":${v}}`, credentials, id: `d${m}` }),
  });
}

export const fanoutDsock: Scenario = {
  name: 'fanout-dsock',
  description:
    'The fanout workload through Octoway\'s dSock listener (WS_DSOCK_PORT): 2,000 sockets of one dSock user opened with `/connect?jwt=`; ' +
    '20 warm-up then 200 measured messages of about 130 bytes sent with dSock\'s `POST /send?user=fan&type=text` on one keep-alive ' +
    'connection, closed-loop (message n+1 once all 2,000 sockets got n), every frame checked in order. The first column is the fanout ' +
    'table\'s Octoway figure (native listener), the ratio divides the dSock figure by it. For scale: the real dSock v0.2.0 (API and ' +
    'worker on Redis, one core) delivered 4.9k messages/s to 500 users × 20 sends with 64 in flight.',
  targets: ['octoway'],
  variants: () => [{ name: '', env: { WS_DSOCK_TOKEN: TOKEN, WS_DSOCK_JWT_SECRET: JWT_SECRET }, listenerPorts: ['WS_DSOCK_PORT'] }],
  metrics: waveMetrics,
  cpuSensitive: true,
  timeoutMs: 240_000,
  beside: 'fanout',
  run,
};
