// `npm run demo`: a demo auth backend plus the real gateway, wired together, with instructions.
// The backend accepts `?user=<email>` (or a `demo_user` cookie) and answers as a Goctopus app would.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

const AUTH_PORT = Number(process.env.DEMO_AUTH_PORT ?? 8000);
const GATEWAY_PORT = process.env.WS_PORT ?? '7890';
const LOGIN = 'admin';
const PASSWORD = 'demo-password';

const backend = createServer((req, res) => {
  const uri = new URL(String(req.headers['x-forwarded-uri'] ?? '/'), 'http://demo');
  const cookie = /(?:^|;\s*)demo_user=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  const email = uri.searchParams.get('user') ?? (cookie === undefined ? null : decodeURIComponent(cookie));
  const body = email === null ? { detail: 'add ?user=<email> to the WebSocket URL' } : { user: { email, organization_name: 'demo-org' } };
  res.writeHead(email === null ? 401 : 200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
});

backend.listen(AUTH_PORT, '127.0.0.1', () => {
  const gateway = spawn(process.execPath, [fileURLToPath(new URL('../src/main.js', import.meta.url))], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      WS_HOST: '127.0.0.1',
      WS_PORT: GATEWAY_PORT,
      WS_AUTH_URL: `http://127.0.0.1:${AUTH_PORT}/api/is_authenticated`,
      WS_LOGIN: LOGIN,
      WS_PASSWORD: PASSWORD,
      WS_ALLOWED_ORIGINS: 'http://localhost:3000',
      ...process.env,
    },
  });
  const url = `localhost:${GATEWAY_PORT}`;
  process.stdout.write(`
Octoway demo: gateway on ${url}, demo auth backend on 127.0.0.1:${AUTH_PORT}.

  Listen as alice (another terminal):
    npm run demo:listen -- alice@example.com
  or in a browser console:
    new WebSocket('ws://${url}/ws?user=alice@example.com').onmessage = (e) => console.log(e.data)

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
    backend.close();
    process.exit(code ?? 0);
  });
});
