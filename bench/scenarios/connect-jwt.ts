// connect-jwt: upgrade throughput with client JWTs (WS_AUTH_MODE=jwt), verified locally: HS256 (the
// goal), and ES256 and RS256 reported beside it.
import { createPrivateKey } from 'node:crypto';
import { SignJWT } from 'jose';
import type { FrameSink } from '../client/ws-client.js';
import { SOCKETS, upgradeRound } from './connect.js';
import { nowUs, sleep, Window } from './common.js';
import { PLAIN, TARGETS, type Ctx, type Metrics, type Scenario, type Variant } from './types.js';


// Fixed key pairs made for this benchmark only (openssl), so that the server (given the public half
// in its environment) and the client process (signing) agree without sharing state. Never use them
// for anything else.
const HS_SECRET = 'octoway-bench-connect-jwt-secret-0123456789abcdef';
const KEYS = {
  ES256: {
    private: "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgeBaPcrFjiSfHO6bQ\nZVfNu/MlQ1FImdEeckubd5idyJChRANCAASokRplbHIxzb9mhTk68UFYp6Y8u+PE\n5mlTorfgAWIOZkb45IP+ABfcwfQ+/J0M+fRidN4lrpdxt3z4ZP5Bl85Q\n-----END PRIVATE KEY-----\n",
    public: "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqJEaZWxyMc2/ZoU5OvFBWKemPLvj\nxOZpU6K34AFiDmZG+OSD/gAX3MH0PvydDPn0YnTeJa6Xcbd8+GT+QZfOUA==\n-----END PUBLIC KEY-----\n",
  },
  RS256: {
    private: "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDwp4sMQkCH6DIV\nddtGuFjlHGFTvE8MuCHt/HAdrUSzqkpnApaeA5U/LqsoO/ahQ8cpw407s3VGY3c/\nOJIKklJzFrBWpHz5BUY3con74lg0+NPQLbg9MTaQQyyfUJZrUg4Jl9Q0+Oha8q4n\nPKKZ5t4Zzl3yaOhCfF6CrvwnBN8/9QSAfaLDR+NI1UNmuFbDfu1Be5QWgsSLP7BU\nexEQZQiNhJ5MRwwedQq9FRfbQSkbhsCwg/aHFVhKCN4RdmxLYte/b45eePscM8Vx\nj3suCU9thSOl47vKkShDxm+uANlzweGvz13MqeMgZh07rO6saU0xprgA+x90nUfa\noE5DFU1PAgMBAAECggEACpD4qHWiOrVluY5+rbi7YnfgCBqtB9xv1PCwBYWNjivs\nb2BsN4zluSv15OLZHdSJgpps8ZGcFRaZ7kMwGlm5WAdHf85iFFb4ccfMKiySfeTs\n++d9/uXRxPzGEUqrCBRGvIIXlanWHeQo5F0jsIkz+EMY2eNkS0MFrUw8kwQCP18P\nYb2gpGkUmVeL9QNN/RdHCT9oCkCAj6/NYyjo3rCn4C6ZHVkLWlf3hN8j5KRt+3h6\nzFxxQQak1IjbjwiAtJqUtlO2Mg5vk/CCc418y6FkDgGHBBZaMC9jjIrXjfazpbtL\nC2wtgM6J+uXy8dfW/eHrMfpALD/NZ+TUApdYoziAnQKBgQD98PH+BhCScF2n3Vud\nw2gpNz66rD/4fvR+cHU38W0slQh7+mVg3YCBrBNeSM9ZtQUxm1dPdaqXW7ue7zWU\nNxe9S2kqPE9NsOMxzSFHaha3IYKZpDbhZMXwBklAAu7xJgcnDk8MAycXRvUBOQSA\nt0VBtENOodqO6NoVCJE0FbBjcwKBgQDymwVy02SwC9UKNIJ9F0kQl9UW1QQ53CF2\nk3AGy9O7sLxuH7DDo/IwpgLE2HoHR67GNh1t3ZpzyAeT7Z/WsNknc1Hr3zRAn+4w\nnhMorbvopHq6+OEYoEg9oPZ7njxsYTfhORRpAjkbWKANkmbgTcJPBjkYR2uBOe/0\n/wtNA/fPtQKBgQCxDtG724CsihpTE91wR7IVosZjI/zKh8JzcnfYlMYZYqRyxSjw\nfCDAyTkL8VpZ4wSHDRe4eIOEW1qbO5CxEiTEQJNH9psYwW/35l4AzDCgaYYFGGGH\nkFsOu2NRdXoiu/AaxDhLWNtluHzV6GqCUMbCRCz145ZfNG3yYnHTzheZjwKBgHyl\nuX7treXlrme34vNya0/jMtCwUaOIvoi15/EV+IuOmsHZ9nAOY/kq0nFg6BGlet7M\nHwK7wQeL1pjiliUwZ+IlFgoifC5X/YFtNlrIKKu3FnfKN5z3fSZs9Tc+bb0hlhxZ\nv2rUgZLTTiiq98B3M0Z25A7dYxbaNbei8qN3TnOhAoGAcqkSHTXfFd21FNBsXhNx\nxrvhaNhfFjvBXMo0h8A5/b93HjXAWCT86Y5eqo6yxsE4oZc+3AoQIBQTYLvsfFkH\n/+PAjA3Yl1PHS0ucKIN9UYQu1w8arGjMNe302xiEBUh17oPOjmd1uFpE86tXDEtS\nVtuCNKjPHl6+Q8hIzKPSE8I=\n-----END PRIVATE KEY-----\n",
    public: "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA8KeLDEJAh+gyFXXbRrhY\n5RxhU7xPDLgh7fxwHa1Es6pKZwKWngOVPy6rKDv2oUPHKcONO7N1RmN3PziSCpJS\ncxawVqR8+QVGN3KJ++JYNPjT0C24PTE2kEMsn1CWa1IOCZfUNPjoWvKuJzyimebe\nGc5d8mjoQnxegq78JwTfP/UEgH2iw0fjSNVDZrhWw37tQXuUFoLEiz+wVHsREGUI\njYSeTEcMHnUKvRUX20EpG4bAsIP2hxVYSgjeEXZsS2LXv2+OXnj7HDPFcY97LglP\nbYUjpeO7ypEoQ8ZvrgDZc8Hhr89dzKnjIGYdO6zurGlNMaa4APsfdJ1H2qBOQxVN\nTwIDAQAB\n-----END PUBLIC KEY-----\n",
  },
} as const;

type Alg = 'HS256' | 'ES256' | 'RS256';

function signer(alg: Alg): (claims: Record<string, unknown>) => Promise<string> {
  const key = alg === 'HS256' ? new TextEncoder().encode(HS_SECRET) : createPrivateKey(KEYS[alg].private);
  return (claims) => new SignJWT(claims).setProtectedHeader({ alg }).sign(key);
}

/** One token per socket, each for its own `sub`, valid for an hour; the references get a stand-in of the same length. */
async function makeTokens(ctx: Ctx, alg: Alg, round: number): Promise<string[]> {
  const sign = signer(alg);
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const tokens: string[] = [];
  for (let i = 0; i < SOCKETS; i++) tokens.push(await sign({ sub: `k${i}`, sid: `r${round}`, exp }));
  return ctx.target === 'octoway' ? tokens : tokens.map((t) => 'x'.repeat(t.length));
}

const round = (ctx: Ctx, sink: FrameSink, tokens: readonly string[]) => upgradeRound(ctx, sink, (i) => `/ws?token=${tokens[i]}`, 'connect-jwt');

async function run(ctx: Ctx): Promise<Metrics> {
  let frames = 0;
  const sink: FrameSink = { onText: () => void frames++ };
  const alg: Alg = ctx.variant === 'es256' ? 'ES256' : ctx.variant === 'rs256' ? 'RS256' : 'HS256';
  // Round 1 warms the JIT; round 2 is measured. Tokens are signed before each round, outside the window.
  const cold = await round(ctx, sink, await makeTokens(ctx, alg, 1));
  const forced = await cold.close();
  if (forced > 0) ctx.log(`${forced} sockets had to be destroyed after close`);
  const tokens = await makeTokens(ctx, alg, 2);
  await sleep(1000);
  const t0 = nowUs();
  const win = new Window(ctx);
  const warm = await round(ctx, sink, tokens);
  const w = win.end();
  await warm.close();
  if (frames > 0) throw new Error(`${frames} unexpected frames on connect-only sockets`);
  ctx.log(`measured round took ${((nowUs() - t0) / 1e6).toFixed(2)} s`);
  return {
    upgradesPerSec: warm.upgradesPerSec,
    firstRoundUpgradesPerSec: cold.upgradesPerSec,
    serverCpuUsPerUpgrade: w.serverCpuUs / SOCKETS,
    serverCoreUsPerUpgrade: w.serverCoreUs / SOCKETS,
    clientCpuUsPerUpgrade: w.clientCpuUs / SOCKETS,
  };
}

const JWT_VARIANTS: Variant[] = [
  { name: 'hs256', env: { WS_AUTH_MODE: 'jwt', WS_JWT_SECRET: HS_SECRET } },
  { name: 'es256', env: { WS_AUTH_MODE: 'jwt', WS_JWT_PUBLIC_KEY: KEYS.ES256.public } },
  { name: 'rs256', env: { WS_AUTH_MODE: 'jwt', WS_JWT_PUBLIC_KEY: KEYS.RS256.public } },
];

export const connectJwt: Scenario = {
  name: 'connect-jwt',
  description:
    'The connect workload (2,000 sockets, at most 200 handshakes in flight; a warm-up round, then a measured one) with ' +
    'WS_AUTH_MODE=jwt: each socket connects with `?token=<its JWT>` (its own `sub`, an `exp` an hour ahead), signed by the ' +
    'client before the round, outside the measured window. **hs256**: WS_JWT_SECRET. **es256** and **rs256** (2048-bit): ' +
    'WS_JWT_PUBLIC_KEY, a public-key verification per upgrade. No auth backend is called. The references upgrade the same ' +
    'paths (a stand-in token of the same length) without auth.',
  targets: TARGETS,
  variants: (t) => (t === 'octoway' ? JWT_VARIANTS : PLAIN),
  metrics: [
    { key: 'upgradesPerSec', label: 'upgrades/s', unit: '/s', better: 'higher' },
    { key: 'firstRoundUpgradesPerSec', label: 'first-round upgrades/s', unit: '/s', better: 'higher' },
    { key: 'serverCpuUsPerUpgrade', label: 'server CPU/upgrade', unit: 'µs', better: 'lower' },
    { key: 'serverCoreUsPerUpgrade', label: 'server core busy/upgrade (incl. softirq)', unit: 'µs', better: 'lower' },
    { key: 'clientCpuUsPerUpgrade', label: 'client CPU/upgrade', unit: 'µs', better: 'none' },
  ],
  cpuSensitive: true,
  timeoutMs: 180_000,
  run,
};
