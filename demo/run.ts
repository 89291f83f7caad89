// `npm run demo`: a demo auth backend plus the real gateway, wired together, with instructions.
// The backend accepts `?user=<email>` (or a `demo_user` cookie) and answers as a Goctopus app would;
// its `/` is a page whose origin the gateway allows, so the browser snippet works from there.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const AUTH_PORT = Number(process.env.DEMO_AUTH_PORT ?? 8000);
const GATEWAY_HOST = process.env.WS_HOST ?? '127.0.0.1';
const GATEWAY_PORT = process.env.WS_PORT ?? '7890';
const LOGIN = 'admin';
const PASSWORD = 'demo-password';
const PAGE = `http://localhost:${AUTH_PORT}/`;
const SNIPPET = `new WebSocket('ws://localhost:${GATEWAY_PORT}/ws?user=alice@example.com').onmessage = (e) => console.log(e.data)`;

const backend = createServer((req, res) => {
  if (req.url === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>Octoway demo</title><p>Open this page's console and paste:</p><pre>${SNIPPET}</pre>`);
    return;
  }
  const uri = new URL(String(req.headers['x-forwarded-uri'] ?? '/'), 'http://demo');
  const cookie = /(?:^|;\s*)demo_user=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  const email = uri.searchParams.get('user') ?? (cookie === undefined ? null : decodeURIComponent(cookie));
  const body = email === null ? { detail: 'add ?user=<email> to the WebSocket URL' } : { user: { email, organization_name: 'demo-org' } };
  res.writeHead(email === null ? 401 : 200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
});

/** One line and exit 1 instead of a stack trace: the usual cause is a demo left running. */
function portTaken(port: number | string, what: string, variable: string, err: NodeJS.ErrnoException): never {
  const why = err.code === 'EADDRINUSE' ? 'is taken (another demo still running?)' : `cannot be used (${err.code ?? err.message})`;
  process.stderr.write(`demo: port ${port} for ${what} ${why}; stop what uses it or set ${variable} to another port\n`);
  process.exit(1);
}

/** Fails early, with a line naming WS_PORT, if the gateway could not listen on its port. */
function checkGatewayPort(): Promise<void> {
  return new Promise((resolve) => {
    const probe = createTcpServer();
    probe.once('error', (err: NodeJS.ErrnoException) => portTaken(GATEWAY_PORT, 'the gateway', 'WS_PORT', err));
    probe.listen({ host: GATEWAY_HOST, port: Number(GATEWAY_PORT), exclusive: true }, () => probe.close(() => resolve()));
  });
}

function startGateway(auth: Server): void {
  const gateway = spawn(process.execPath, [fileURLToPath(new URL('../src/main.js', import.meta.url))], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      WS_HOST: GATEWAY_HOST,
      WS_PORT: GATEWAY_PORT,
      WS_AUTH_URL: `http://127.0.0.1:${AUTH_PORT}/api/is_authenticated`,
      WS_LOGIN: LOGIN,
      WS_PASSWORD: PASSWORD,
      // The page the instructions send the browser to; any other website stays refused.
      WS_ALLOWED_ORIGINS: `http://localhost:${AUTH_PORT},http://127.0.0.1:${AUTH_PORT}`,
      ...process.env,
    },
  });
  const url = `localhost:${GATEWAY_PORT}`;
  process.stdout.write(`
Octoway demo: gateway on ${url}, demo auth backend on 127.0.0.1:${AUTH_PORT}.

  Listen as alice (another terminal):
    ${GATEWAY_PORT === '7890' ? '' : `WS_PORT=${GATEWAY_PORT} `}npm run demo:listen -- alice@example.com
  or open ${PAGE} in a browser, open its console and paste:
    ${SNIPPET}

  Publish to alice, or to everyone in her organisation:
    curl -u ${LOGIN}:${PASSWORD} -d '{"key":"alice@example.com","value":{"hello":"world"}}' http://${url}/
    curl -u ${LOGIN}:${PASSWORD} -d '{"key":"demo-org","value":"to the whole org","expire":"5m"}' http://${url}/

  Held messages (published while nobody listens):
    curl -u ${LOGIN}:${PASSWORD} http://${url}/

Ctrl-C stops both.

`);
  const stop = (): void => { gateway.kill('SIGTERM'); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  gateway.on('exit', (code) => {
    auth.close();
    // The gateway printed its own line for a failed start; the demo's exit code is 0 or 1.
    process.exit(code === 0 ? 0 : 1);
  });
}

backend.once('error', (err: NodeJS.ErrnoException) => portTaken(AUTH_PORT, 'the demo auth backend', 'DEMO_AUTH_PORT', err));
backend.listen(AUTH_PORT, '127.0.0.1', () => {
  void checkGatewayPort().then(() => startGateway(backend));
});
