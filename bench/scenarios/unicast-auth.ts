// unicast-auth: the unicast workload with the other cheap publisher auth modes, bearer and hmac,
// beside unicast's Basic-auth figure (the goal: each costs at most 1.1× Basic's server CPU per POST).
import { createHmac } from 'node:crypto';
import { runUnicast, unicast } from './unicast.js';
import type { Ctx, Metrics, Scenario, Variant } from './types.js';

const TOKEN = 'bench-publish-token-0123456789';
const SECRET = 'bench-hmac-secret-0123456789';

/** What a publisher sends (docs/authentication.md): t=<unix seconds>,v1=hex(HMAC-SHA256(secret, "<t>.<body>")). */
function signBody(body: string): string {
  const t = Math.floor(Date.now() / 1000);
  return `t=${t},v1=${createHmac('sha256', SECRET).update(`${t}.${body}`).digest('hex')}`;
}

function run(ctx: Ctx): Promise<Metrics> {
  if (ctx.variant === 'bearer') return runUnicast(ctx, () => `Authorization: Bearer ${TOKEN}\r\n`);
  if (ctx.variant === 'hmac') return runUnicast(ctx, (body) => `X-Octoway-Signature: ${signBody(body)}\r\n`);
  throw new Error(`unicast-auth has no variant "${ctx.variant}"`);
}

export const unicastAuth: Scenario = {
  name: 'unicast-auth',
  description:
    'The unicast workload (2,000 sockets, 40,000 measured POSTs, 64 in flight) with publisher auth other than Basic. ' +
    '**bearer**: WS_PUBLISH_AUTH=bearer, one token in `Authorization: Bearer`. **hmac**: WS_PUBLISH_AUTH=hmac, every POST ' +
    'signed over its body (`X-Octoway-Signature`, HMAC-SHA256), each signature remembered in memory to refuse replays. ' +
    'The first column is the unicast table\'s Octoway figure (Basic auth); the goal is at most 1.1× its server CPU per POST.',
  targets: ['octoway'],
  variants: (): Variant[] => [
    { name: 'bearer', env: { WS_PUBLISH_AUTH: 'bearer', WS_PUBLISH_TOKENS: TOKEN } },
    { name: 'hmac', env: { WS_PUBLISH_AUTH: 'hmac', WS_HMAC_SECRET: SECRET } },
  ],
  metrics: unicast.metrics,
  cpuSensitive: true,
  timeoutMs: unicast.timeoutMs,
  beside: 'unicast',
  run,
};
