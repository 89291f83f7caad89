// The forward-auth endpoint the gateway calls on each upgrade: 200 {"user":{"email":<key>}} for ?key=<key>.
import http from 'node:http';

const port = Number(process.env.PORT);
let requests = 0;

function keyOf(uri: string | string[] | undefined): { key: string; role: string | null } | undefined {
  if (typeof uri !== 'string') return undefined;
  const q = uri.indexOf('?');
  if (q < 0) return undefined;
  const query = new URLSearchParams(uri.slice(q + 1));
  const key = query.get('key');
  // `role` (fanout-filter): passed on in the answer, for its exporter to make a claim of.
  return key === null || key === '' ? undefined : { key, role: query.get('role') };
}

const server = http.createServer((req, res) => {
  if (req.url === '/__stats') {
    // Lets a scenario count the gateway's auth calls (e.g. none on a cached reconnect).
    res.end(JSON.stringify({ requests }));
    return;
  }
  requests++;
  const asked = keyOf(req.headers['x-forwarded-uri']);
  if (asked === undefined) {
    res.writeHead(401, { 'Content-Length': 0 }).end();
    return;
  }
  const body = JSON.stringify({ user: asked.role === null ? { email: asked.key } : { email: asked.key, role: asked.role } });
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
});
// The gateway keeps its auth connections open for the whole run; don't make it reconnect mid-scenario.
server.keepAliveTimeout = 300_000;
server.headersTimeout = 310_000;
server.maxRequestsPerSocket = 0;
server.listen(port, '127.0.0.1');
