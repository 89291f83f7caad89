// Helpers the scenarios share: payloads, publish responses, measurement windows.
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { coreBusyUs, cpuUs, rssBytes, runTimeUs } from '../proc.js';
import { HttpConn } from '../client/http-publisher.js';
import type { Ctx } from './types.js';
import WebSocket from 'ws';

/** The core bench/servers.ts pins servers to (not imported from there: that module spawns and traps signals). */
const SERVER_CORE = 1;
const CLIENT_CORE = 0;

export const nowUs = (): number => performance.now() * 1000;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The published value, exactly `size` bytes of JSON: message index, per-key sequence, send time (µs), padding. */
export function value(m: number, q: number, size: number): string {
  const head = `{"m":${m},"q":${q},"t":${Math.round(nowUs())},"p":"`;
  return head + 'x'.repeat(Math.max(0, size - head.length - 2)) + '"}';
}

export const singleBody = (key: string, v: string): string => `{"key":"${key}","value":${v}}`;

export function batchBody(items: readonly { key: string; value: string }[]): string {
  return `{"messages":[${items.map((i) => `{"key":"${i.key}","value":${i.value}}`).join(',')}]}`;
}

export interface PubResult {
  id: string;
  delivered: number;
  held: number;
}

export function parseSingle(status: number, body: string): PubResult {
  if (status !== 202) throw new Error(`publish answered ${status}: ${body.slice(0, 200)}`);
  const r = JSON.parse(body) as PubResult;
  if (typeof r.id !== 'string') throw new Error(`publish answer without id: ${body.slice(0, 200)}`);
  return r;
}

export function parseBatch(status: number, body: string, n: number): PubResult[] {
  if (status !== 202) throw new Error(`batch publish answered ${status}: ${body.slice(0, 200)}`);
  const r = JSON.parse(body) as { results?: PubResult[] };
  if (!Array.isArray(r.results) || r.results.length !== n) throw new Error(`batch answer without ${n} results: ${body.slice(0, 200)}`);
  return r.results;
}

export function publishers(ctx: Ctx, n: number): HttpConn[] {
  return Array.from({ length: n }, () => new HttpConn(ctx.host, ctx.port));
}

/** Other processes' share of each core during the last measured window (the machine is shared). */
export const lastWindow = { foreignServerCore: NaN, foreignClientCore: NaN };

/** Every Octoway process of the run: all nodes of a multi-node run, else the one server. */
export const serverPids = (ctx: Ctx): number[] => ctx.nodes?.map((n) => n.pid) ?? [ctx.serverPid];
const cpuSum = (pids: readonly number[]): number => pids.reduce((sum, pid) => sum + cpuUs(pid), 0);

/** CPU of the server(s), Redis (when the run uses it and we can read it), auth mock and this client over a measured window. */
export class Window {
  private readonly s0: number;
  private readonly r0: number;
  private readonly a0: number;
  private readonly c0: NodeJS.CpuUsage;
  private readonly core0: number;
  private readonly clientCore0: number;
  private readonly perf: ChildProcess | undefined;
  readonly t0 = nowUs();
  constructor(private readonly ctx: Ctx) {
    this.s0 = cpuSum(serverPids(ctx));
    this.r0 = ctx.redisPid ? runTimeUs(ctx.redisPid) : 0;
    this.a0 = ctx.authPid > 0 ? cpuUs(ctx.authPid) : 0;
    this.c0 = process.cpuUsage();
    this.core0 = coreBusyUs(SERVER_CORE);
    this.clientCore0 = coreBusyUs(CLIENT_CORE);
    // `--perf`: sample the server during this window only (startup and connect bursts stay out of the profile).
    const dir = process.env.BENCH_PERF_DIR;
    this.perf = dir === undefined ? undefined : spawn('perf', ['record', '-F', '499', '-g', '-p', serverPids(ctx).join(','), '-o', `${dir}/${ctx.scenario}${ctx.variant ? '-' + ctx.variant : ''}-${ctx.target}-${ctx.round}.perf.data`], { stdio: 'ignore', detached: true });
  }
  end(): { wallS: number; serverCpuUs: number; serverCoreUs: number; redisCpuUs: number; authCpuUs: number; clientCpuUs: number; clientSysUs: number } {
    const wallS = (nowUs() - this.t0) / 1e6;
    const c = process.cpuUsage(this.c0);
    this.perf?.kill('SIGINT');
    const r = {
      wallS,
      serverCpuUs: cpuSum(serverPids(this.ctx)) - this.s0,
      serverCoreUs: coreBusyUs(SERVER_CORE) - this.core0,
      redisCpuUs: this.ctx.redisPid ? runTimeUs(this.ctx.redisPid) - this.r0 : 0,
      authCpuUs: this.ctx.authPid > 0 ? cpuUs(this.ctx.authPid) - this.a0 : 0,
      clientCpuUs: c.user + c.system,
      clientSysUs: c.system,
    };
    const clientCoreUs = coreBusyUs(CLIENT_CORE) - this.clientCore0;
    // Loopback softirq of our own traffic also lands on the cores: a few percent is normal.
    let serverForeign = Math.max(0, r.serverCoreUs - r.serverCpuUs);
    let clientForeign = Math.max(0, clientCoreUs - r.clientCpuUs - r.authCpuUs);
    // Redis is ours too but not pinned, and /proc does not say on which core it ran: take it off the server
    // core's unexplained time first, the rest off the client core's (an estimate; it can hide other load).
    const onServer = Math.min(r.redisCpuUs, serverForeign);
    serverForeign -= onServer;
    clientForeign = Math.max(0, clientForeign - (r.redisCpuUs - onServer));
    lastWindow.foreignServerCore = serverForeign / 1e6 / wallS;
    lastWindow.foreignClientCore = clientForeign / 1e6 / wallS;
    return r;
  }
}

/** RSS of the server, summed over the nodes of a multi-node run. */
export const serverRss = (ctx: Ctx): number => serverPids(ctx).reduce((sum, pid) => sum + rssBytes(pid), 0);

/** Requests the auth mock has answered so far (0 when the target doesn't use it). */
export async function authRequests(ctx: Ctx): Promise<number> {
  const c = new HttpConn(ctx.host, ctx.authPort);
  try {
    const r = await c.request('GET', '/__stats');
    return (JSON.parse(r.body) as { requests: number }).requests;
  } finally {
    c.close();
  }
}

/** Path a socket of key `key` connects to. */
export const wsPath = (key: string): string => `/ws?key=${encodeURIComponent(key)}`;

/** Socket states at the end of a scenario: every one should still be open. */
export function assertAllOpen(conns: readonly { state: string; error: string | null; index: number }[]): void {
  const bad = conns.filter((c) => c.state !== 'open');
  if (bad.length > 0) {
    throw new Error(`${bad.length} sockets closed during the run, e.g. ${bad.slice(0, 3).map((c) => `socket ${c.index}: ${c.error ?? c.state}`).join('; ')}`);
  }
}

/** A `ws` client socket, open (no compression: the seed listeners' clients ask for none); rejects
 * with the status when the upgrade is refused. For the seed-listener scenarios, whose frames the raw
 * load client does not parse. */
export function openWs(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}
