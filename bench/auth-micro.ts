// Forward auth alone (the cache, the WS_WORKERS gate and the backend call): CPU per authenticate() call in this process against the bench auth mock in
// another one, so uWS, sockets and the load client stay out of the figure. Usage (after a build):
//   node dist/bench/auth-micro.js [calls=20000] [inFlight=200] [workers=128]
// Prints µs of this process's CPU (user+system, syscalls included) per call and the heap after.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { UpgradeRequest } from '../src/identity/authenticator.js';
import { loadExporter } from '../src/identity/exporters.js';
import { createForwardPipeline } from '../src/identity/pipeline.js';

const [calls = 20_000, inFlight = 200, workers = 128] = process.argv.slice(2).map(Number);
const here = path.dirname(fileURLToPath(import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitUp(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/__stats`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('auth mock did not start');
}

/** A browser-like upgrade: the headers uWS hands over for a real handshake. */
function request(i: number): UpgradeRequest {
  return {
    path: '/ws',
    query: `key=k${i}`,
    headers: {
      host: '127.0.0.1:7890',
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13',
      cookie: `session=abcdef${i}`,
      origin: 'http://127.0.0.1:7890',
      'user-agent': 'bench',
    },
    remoteAddress: '127.0.0.1',
  };
}

/** What the upgrade handler passes (a plain object, not an AbortController); never aborted here. */
const signal = { aborted: false, addEventListener(): void {}, removeEventListener(): void {} };

const port = await freePort();
const mock = spawn(process.execPath, [path.join(here, 'auth-mock.js')], { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' });
try {
  await waitUp(port);
  const auth = createForwardPipeline({
    url: new URL(`http://127.0.0.1:${port}/auth`),
    timeoutMs: 5000,
    workers,
    queueLimit: 1024,
    forwardHeaders: [],
    trustedProxies: ['127.0.0.0/8'],
    cacheTtlMs: 0,
    cacheNegativeTtlMs: 0,
    cacheMax: 10_000,
    exporter: await loadExporter('goctopus'),
  }, pino({ level: 'warn' }));

  const runBatch = async (n: number): Promise<void> => {
    let next = 0;
    let failed = 0;
    const lane = async (): Promise<void> => {
      while (next < n) {
        const result = await auth.authenticate(request(next++), signal);
        if (!result.ok) failed++;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    if (failed > 0) throw new Error(`${failed} of ${n} calls failed`);
  };

  await runBatch(Math.min(calls, 5000)); // warm-up: JIT and the pool's connections
  const heap0 = process.memoryUsage().heapUsed;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await runBatch(calls);
  const cpu = process.cpuUsage(cpu0);
  const ms = performance.now() - t0;
  const heap1 = process.memoryUsage().heapUsed;
  await auth.close();
  console.log(JSON.stringify({
    calls,
    inFlight,
    workers,
    cpuUsPerCall: +((cpu.user + cpu.system) / calls).toFixed(1),
    sysUsPerCall: +(cpu.system / calls).toFixed(1),
    callsPerSec: Math.round(calls / (ms / 1000)),
    heapGrowthBytesPerCall: Math.round((heap1 - heap0) / calls),
  }));
} finally {
  mock.kill();
}
