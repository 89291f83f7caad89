// `--healthcheck` (Goctopus's flag): probes /healthz of the gateway on this machine's configured port
// and exits 0 when it answers 200, 1 otherwise; the Dockerfile's HEALTHCHECK runs it. Reads only
// WS_HOST, WS_PORT and whether WS_TLS_CERT / WS_TLS_KEY are set, so a probe works whatever else the
// environment holds.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const TIMEOUT_MS = 3_000;

export async function runHealthcheck(values: Readonly<Record<string, string>>): Promise<never> {
  const port = (values.WS_PORT ?? '').trim() || '7890';
  const configured = (values.WS_HOST ?? '').trim();
  // A wildcard address is not one to connect to: the gateway answers on loopback too.
  const host = configured === '' || configured === '0.0.0.0' ? '127.0.0.1' : configured === '::' ? '::1' : configured;
  // With WS_TLS_CERT and WS_TLS_KEY the port speaks only TLS (plain HTTP gets no answer).
  const tls = (values.WS_TLS_CERT ?? '').trim() !== '' || (values.WS_TLS_KEY ?? '').trim() !== '';
  const url = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}/healthz`;
  try {
    const status = await probe(url, tls);
    if (status === 200) process.exit(0);
    process.stderr.write(`octoway: healthcheck: ${url} answered ${status}\n`);
  } catch (err) {
    process.stderr.write(`octoway: healthcheck: ${url}: ${(err as Error).message}\n`);
  }
  process.exit(1);
}

/** The status /healthz answers. Over TLS the certificate is not verified: it names the public host,
 * not the loopback address probed here, and the probe sends nothing secret and trusts nothing in
 * the answer but its status, from this machine's own port. */
function probe(url: string, tls: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const options = { signal: AbortSignal.timeout(TIMEOUT_MS), ...(tls ? { rejectUnauthorized: false } : {}) };
    const req = (tls ? httpsRequest : httpRequest)(url, options, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}
