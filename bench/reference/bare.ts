// Reference 1: bare uWebSockets.js topics — the floor Octoway's figures are measured against.
import uWS from 'uWebSockets.js';
import { BASIC_AUTH, buildFrame, parsePublish, portFromEnv, responseBody, type PubResult } from './common.js';

interface SocketData { key: string }

const port = portFromEnv();
const app = uWS.App();

app.ws<SocketData>('/ws', {
  compression: uWS.DISABLED,
  // Same as the gateway's default, so neither side drops a slow reader the other would keep.
  maxBackpressure: 1024 * 1024,
  idleTimeout: 60,
  upgrade: (res, req, context) => {
    res.upgrade<SocketData>(
      { key: req.getQuery('key') ?? '' },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  },
  open: (ws) => {
    ws.subscribe(ws.getUserData().key);
  },
});

app.post('/pub', (res, req) => {
  // Checked so the reference pays for publisher auth like the gateway does (a string compare).
  if (req.getHeader('authorization') !== BASIC_AUTH) {
    res.writeStatus('401 Unauthorized').end();
    return;
  }
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  const chunks: Buffer[] = [];
  res.onData((chunk, isLast) => {
    // uWS reuses the ArrayBuffer after the callback: copy it.
    chunks.push(Buffer.from(new Uint8Array(chunk)));
    if (!isLast || aborted) return;
    const parsed = parsePublish(Buffer.concat(chunks).toString('utf8'));
    if (parsed === undefined) {
      res.cork(() => res.writeStatus('400 Bad Request').end());
      return;
    }
    const results: PubResult[] = [];
    for (const m of parsed.messages) {
      const { id, frame } = buildFrame(m.value);
      const delivered = app.numSubscribers(m.key);
      if (delivered > 0) app.publish(m.key, frame);
      results.push({ id, delivered, held: 0 });
    }
    const body = responseBody(parsed.batch, results);
    res.cork(() => res.writeStatus('202 Accepted').writeHeader('Content-Type', 'application/json').end(body));
  });
});

app.get('/readyz', (res) => {
  res.end('ok');
});

app.listen('127.0.0.1', port, (listen) => {
  if (listen === false) {
    console.error(`bare: cannot listen on ${port}`);
    process.exit(1);
  }
});
