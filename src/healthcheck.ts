// `--healthcheck` (Goctopus's flag): probes /healthz of the gateway on this machine's configured port
// and exits 0 when it answers 200, 1 otherwise; the Dockerfile's HEALTHCHECK runs it. Reads only
// WS_HOST and WS_PORT, so a probe works whatever else the environment holds.

const TIMEOUT_MS = 3_000;

export async function runHealthcheck(values: Readonly<Record<string, string>>): Promise<never> {
  const port = (values.WS_PORT ?? '').trim() || '7890';
  const configured = (values.WS_HOST ?? '').trim();
  // A wildcard address is not one to connect to: the gateway answers on loopback too.
  const host = configured === '' || configured === '0.0.0.0' ? '127.0.0.1' : configured === '::' ? '::1' : configured;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/healthz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    await res.body?.cancel();
    if (res.status === 200) process.exit(0);
    process.stderr.write(`octoway: healthcheck: ${url} answered ${res.status}\n`);
  } catch (err) {
    process.stderr.write(`octoway: healthcheck: ${url}: ${(err as Error).message}\n`);
  }
  process.exit(1);
}
