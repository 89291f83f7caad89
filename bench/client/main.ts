// Load-client process: runs one scenario against one server and prints its metrics as `@@RESULT <json>`.
import { scenarioByName } from '../scenarios/index.js';
import type { ClientConfig, Ctx } from '../scenarios/types.js';

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
  const metrics = await Promise.race([scenario.run(ctx), limit]);
  clearTimeout(timer);
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
