// `npm run demo:listen -- <email>`: a terminal WebSocket client for the demo; prints every frame.
import WebSocket from 'ws';

const user = process.argv[2] ?? 'alice@example.com';
const url = `ws://localhost:${process.env.WS_PORT ?? '7890'}/ws?user=${encodeURIComponent(user)}`;
const ws = new WebSocket(url);
ws.on('open', () => console.log(`connected as ${user}; waiting for messages (Ctrl-C to stop)`));
ws.on('message', (data) => {
  console.log(data.toString());
  // Acknowledge, as Goctopus clients do (only used with WS_DELIVERY=at-least-once).
  const { id } = JSON.parse(data.toString()) as { id: string };
  ws.send(JSON.stringify({ id }));
});
ws.on('unexpected-response', (_req, res) => {
  console.error(`refused: HTTP ${res.statusCode}`);
  process.exit(1);
});
ws.on('close', (code) => {
  console.log(`closed (${code})`);
  process.exit(0);
});
ws.on('error', (err) => {
  console.error(`cannot connect to ${url}: ${err.message}`);
  process.exit(1);
});
