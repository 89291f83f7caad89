// Reference 2: the `ws` package + node:http, a Map of Sets and a send loop — what a Node team writes by hand.
import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { BASIC_AUTH, buildFrame, keyFromUrl, parsePublish, portFromEnv, responseBody, type PubResult } from './common.js';

const port = portFromEnv();
const sockets = new Map<string, Set<WebSocket>>();

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/readyz') {
    res.end('ok');
    return;
  }
  if (req.method !== 'POST' || req.url !== '/pub') {
    res.writeHead(404).end();
    return;
  }
  if (req.headers.authorization !== BASIC_AUTH) {
    res.writeHead(401).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const parsed = parsePublish(Buffer.concat(chunks).toString('utf8'));
    if (parsed === undefined) {
      res.writeHead(400).end();
      return;
    }
    const results: PubResult[] = [];
    for (const m of parsed.messages) {
      const { id, frame } = buildFrame(m.value);
      // No topics here (fanout-topic runs on Octoway and bare only): a topic message reaches nobody.
      const set = m.topic ? undefined : sockets.get(m.key);
      let delivered = 0;
      if (set !== undefined) {
        for (const ws of set) {
          ws.send(frame);
          delivered++;
        }
      }
      results.push({ id, delivered, held: 0 });
    }
    const body = responseBody(parsed.batch, results);
    res.writeHead(202, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;

const wss = new WebSocketServer({ server, path: '/ws' });
wss.on('connection', (ws, req) => {
  const key = keyFromUrl(req.url ?? '');
  let set = sockets.get(key);
  if (set === undefined) sockets.set(key, (set = new Set()));
  set.add(ws);
  ws.on('close', () => {
    set.delete(ws);
    if (set.size === 0 && sockets.get(key) === set) sockets.delete(key);
  });
  ws.on('error', () => ws.terminate());
});

server.listen(port, '127.0.0.1');
