// fanout-philote: Philote's own measurement through Octoway's Philote listener: 200
// readers of one channel, one writer publishing over its WebSocket, every frame checked.
import WebSocket from 'ws';
import { SignJWT } from 'jose';
import { nowUs, serverRss, sleep, Window, openWs } from './common.js';
import type { Ctx, Metrics, Scenario } from './types.js';

const SECRET = 'bench-philote-secret-0123456789abcdef';
const READERS = 200;
const WARMUP = 200;
const MESSAGES = 4000;
/** Messages the writer may be ahead of the slowest reader: a pipeline, as Philote's users publish. */
const IN_FLIGHT = 32;
const SIZE = 100;

const token = (claims: Record<string, unknown>): Promise<string> =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));

const open = (url: string, auth: string): Promise<WebSocket> => openWs(url, { Authorization: `Bearer ${auth}` });

async function run(ctx: Ctx): Promise<Metrics> {
  const port = ctx.listeners?.WS_PHILOTE_PORT;
  if (port === undefined) throw new Error('fanout-philote needs the runner to set WS_PHILOTE_PORT');
  const url = `ws://${ctx.host}:${port}/`;
  const total = WARMUP + MESSAGES;
  await sleep(1000);
  const rss0 = serverRss(ctx);
  const readKey = await token({ read: ['fan'], write: [] });
  /** Per reader, the next message number it expects; the slowest decides what the writer may send. */
  const next = new Int32Array(READERS);
  const sentAt = new Float64Array(total);
  const latencies: number[] = [];
  let slowest = 0;
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  const readers: WebSocket[] = [];
  for (let r = 0; r < READERS; r++) {
    const ws = await open(url, readKey);
    const index = r;
    ws.on('message', (data: Buffer) => {
      // `{"issuer":…,"channel":"fan","data":"<m> <padding>"}`: the number is checked, in order.
      const text = data.toString();
      const at = text.indexOf('"data":"') + 8;
      const m = Number(text.slice(at, text.indexOf(' ', at)));
      if (m !== next[index]) failure ??= new Error(`reader ${index} got message ${m}, expected ${next[index]}`);
      next[index] = m + 1;
      if (m >= WARMUP && (index & 7) === 0) latencies.push(nowUs() - (sentAt[m] as number));
      if (m + 1 > slowest) {
        let min = total;
        for (let i = 0; i < READERS; i++) min = Math.min(min, next[i] as number);
        if (min > slowest) {
          slowest = min;
          wake?.();
        }
      }
    });
    readers.push(ws);
  }
  const rss1 = serverRss(ctx);
  const writer = await open(url, await token({ read: [], write: ['fan'] }));
  const padding = 'x'.repeat(SIZE);
  const waitFor = (m: number): Promise<void> => new Promise((resolve) => {
    if (slowest >= m) return resolve();
    wake = () => {
      if (slowest >= m) {
        wake = undefined;
        resolve();
      }
    };
  });
  let window: Window | undefined;
  for (let m = 0; m < total; m++) {
    if (m === WARMUP) {
      await waitFor(WARMUP);
      window = new Window(ctx);
    }
    if (m - slowest >= IN_FLIGHT) await waitFor(m - IN_FLIGHT + 1);
    if (failure !== undefined) throw failure;
    sentAt[m] = nowUs();
    writer.send(`{"channel":"fan","data":"${m} ${padding}"}`);
  }
  await waitFor(total);
  const w = (window as Window).end();
  if (failure !== undefined) throw failure;
  for (const ws of [...readers, writer]) ws.terminate();
  const deliveries = READERS * MESSAGES;
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => (latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] as number) / 1000;
  return {
    deliveriesPerSec: deliveries / w.wallS,
    messagesPerSec: MESSAGES / w.wallS,
    p50Ms: pct(50),
    p99Ms: pct(99),
    serverCpuUsPerDelivery: w.serverCpuUs / deliveries,
    serverCoreBusy: w.serverCpuUs / 1e6 / w.wallS,
    clientCoreBusy: w.clientCpuUs / 1e6 / w.wallS,
    memPerSocketBytes: (rss1 - rss0) / READERS,
    deliveries,
  };
}

export const fanoutPhilote: Scenario = {
  name: 'fanout-philote',
  description:
    `Philote's own measurement through Octoway's Philote listener (WS_PHILOTE_PORT): ${READERS} readers of one channel and one writer ` +
    `publishing ${WARMUP} warm-up then ${MESSAGES} measured frames of ${SIZE} bytes over its WebSocket, at most ${IN_FLIGHT} ahead of the ` +
    'slowest reader; every reader checks every frame, in order. deliveries/s = readers × messages ÷ window. The real Philote delivered ' +
    '50k deliveries/s on this workload; the first column is the fanout table\'s Octoway figure (native listener, HTTP publishes), ' +
    'the ratio divides the Philote figure by it. The client is the `ws` package (heavier per frame than the native scenarios\' client).',
  targets: ['octoway'],
  variants: () => [{ name: '', env: { WS_PHILOTE_SECRET: SECRET }, listenerPorts: ['WS_PHILOTE_PORT'] }],
  metrics: [
    { key: 'deliveriesPerSec', label: 'deliveries/s', unit: '/s', better: 'higher' },
    { key: 'messagesPerSec', label: 'messages/s', unit: '/s', better: 'higher' },
    { key: 'p50Ms', label: 'p50 latency', unit: 'ms', better: 'lower' },
    { key: 'p99Ms', label: 'p99 latency', unit: 'ms', better: 'lower' },
    { key: 'serverCpuUsPerDelivery', label: 'server CPU/delivery', unit: 'µs', better: 'lower' },
    { key: 'serverCoreBusy', label: 'server process CPU', unit: 'cores', better: 'none' },
    { key: 'clientCoreBusy', label: 'client process CPU', unit: 'cores', better: 'none' },
  ],
  cpuSensitive: true,
  timeoutMs: 180_000,
  beside: 'fanout',
  run,
};
