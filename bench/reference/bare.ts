// Reference 1: bare uWebSockets.js topics — the floor Octoway's figures are measured against.
import uWS from 'uWebSockets.js';
import { BASIC_AUTH, buildFrame, buildTopicFrame, parsePublish, portFromEnv, responseBody, type PubResult } from './common.js';

interface SocketData { key: string }

/** Prefix of topics' uWS topic names: no key starts with it. */
const TOPIC_TAG = '\u0001t\u0000';

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
  // fanout-topic: a v2 `subscribe` frame puts the socket on a uWS topic of topics' own namespace
  // (TOPIC_TAG, as Octoway keeps keys and topics apart) and is answered `subscribed`; the rest is ignored.
  message: (ws, message) => {
    let f: { type?: unknown; topic?: unknown };
    try {
      f = JSON.parse(Buffer.from(message).toString('utf8')) as typeof f;
    } catch {
      return;
    }
    if (f.type !== 'subscribe' || typeof f.topic !== 'string') return;
    ws.subscribe(TOPIC_TAG + f.topic);
    ws.send(`{"type":"subscribed","topics":[${JSON.stringify(f.topic)}]}`);
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
      const { id, frame } = m.topic ? buildTopicFrame(m.key, m.value) : buildFrame(m.value);
      const address = m.topic ? TOPIC_TAG + m.key : m.key;
      const delivered = app.numSubscribers(address);
      if (delivered > 0) app.publish(address, frame);
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
