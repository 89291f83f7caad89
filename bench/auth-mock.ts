// The forward-auth endpoint the gateway calls on each upgrade: 200 {"user":{"email":<key>}} for ?key=<key>.
// `&delay=<ms>` in the forwarded URI answers that much later (a backend with latency), so the calls
// the gateway keeps in flight at once can be counted: /__stats reports the most seen (maxInFlight);
// /__stats?reset=1 starts that count again.
import http from 'node:http';

const port = Number(process.env.PORT);
let requests = 0;
let inFlight = 0;
let maxInFlight = 0;

function queryOf(uri: string | string[] | undefined): URLSearchParams | undefined {
  if (typeof uri !== 'string') return undefined;
  const q = uri.indexOf('?');
  return q < 0 ? undefined : new URLSearchParams(uri.slice(q + 1));
}

const server = http.createServer((req, res) => {
  if (req.url?.startsWith('/__stats')) {
    // Lets a scenario count the gateway's auth calls (e.g. none on a cached reconnect).
    res.end(JSON.stringify({ requests, inFlight, maxInFlight }));
    if (req.url.includes('reset=1')) maxInFlight = inFlight;
    return;
  }
  requests++;
  const query = queryOf(req.headers['x-forwarded-uri']);
  const key = query?.get('key');
  if (key === undefined || key === null || key === '') {
    res.writeHead(401, { 'Content-Length': 0 }).end();
    return;
  }
  // `role` (fanout-filter): passed on in the answer, for its exporter to make a claim of.
  const role = query?.get('role') ?? null;
  const body = JSON.stringify({ user: role === null ? { email: key } : { email: key, role } });
  const answer = (): void => {
    inFlight--;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
  inFlight++;
  if (inFlight > maxInFlight) maxInFlight = inFlight;
  const delay = Number(query?.get('delay') ?? 0);
  if (delay > 0) setTimeout(answer, delay);
  else answer();
});
// The gateway keeps its auth connections open for the whole run; don't make it reconnect mid-scenario.
server.keepAliveTimeout = 300_000;
server.headersTimeout = 310_000;
server.maxRequestsPerSocket = 0;
server.listen(port, '127.0.0.1');
