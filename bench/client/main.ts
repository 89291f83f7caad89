// Load-client process: runs one scenario against one server and prints its metrics as `@@RESULT <json>`.
import { coreBusyUs, cpuUs } from '../proc.js';
import { lastWindow } from '../scenarios/common.js';
import { scenarioByName } from '../scenarios/index.js';
import type { ClientConfig, Ctx } from '../scenarios/types.js';
import { performance } from 'node:perf_hooks';

async function main(): Promise<void> {
  const raw = process.env.BENCH_CLIENT_CONFIG;
  if (raw === undefined) throw new Error('BENCH_CLIENT_CONFIG is not set (this process is started by bench/run.ts)');
  const cfg = JSON.parse(raw) as ClientConfig;
  const scenario = scenarioByName(cfg.scenario);
  const ctx: Ctx = {
    ...cfg,
    pubPath: cfg.target === 'octoway' ? '/' : '/pub',
    log: (msg) => process.stdout.write(`  · ${msg}\n`),
  };
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${cfg.scenario} did not finish within ${scenario.timeoutMs / 1000} s`)), scenario.timeoutMs);
  });
  // Other load on the two cores (this machine is shared): core time not spent by our own processes.
  const t0 = performance.now();
  const core1 = coreBusyUs(1);
  const core0 = coreBusyUs(0);
  const srv = cpuUs(cfg.serverPid);
  const own0 = cpuUs(process.pid) + cpuUs(cfg.authPid);
  const metrics = await Promise.race([scenario.run(ctx), limit]);
  clearTimeout(timer);
  const wallUs = (performance.now() - t0) * 1000;
  // Loopback softirq of our own traffic lands on the cores too: a few percent is normal.
  // Over the measured window where the scenario has one (its figures come from there), else the whole run.
  // A scenario that restarted the server (reconnect-storm) set ctx.serverPid to the new process, whose
  // CPU counts from its start; the old one's is gone with it and counts as other load here.
  const serverCpu = ctx.serverPid === cfg.serverPid ? cpuUs(cfg.serverPid) - srv : cpuUs(ctx.serverPid);
  metrics.foreignServerCore = Number.isNaN(lastWindow.foreignServerCore) ? Math.max(0, coreBusyUs(1) - core1 - serverCpu) / wallUs : lastWindow.foreignServerCore;
  metrics.foreignClientCore = Number.isNaN(lastWindow.foreignClientCore) ? Math.max(0, coreBusyUs(0) - core0 - (cpuUs(process.pid) + cpuUs(cfg.authPid) - own0)) / wallUs : lastWindow.foreignClientCore;
  process.stdout.write(`@@RESULT ${JSON.stringify(metrics)}\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    const msg = e instanceof Error ? e.message : String(e);
    process.stdout.write(`@@ERROR ${JSON.stringify(msg)}\n`);
    if (e instanceof Error && process.env.BENCH_DEBUG) process.stderr.write(`${e.stack}\n`);
    process.exit(1);
  },
);
