// Code written against Goctopus's README works against Octoway unchanged but for the address:
// the backend's `requests.post(url, data=json.dumps(message), auth=(login, password))` (no
// Content-Type, path "/"), and the browser's `new WebSocket("ws://host:7890")` with its ack
// snippet, cookie-authenticated, under WS_DELIVERY=at-least-once (Goctopus's own delivery).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { Browser } from 'playwright-core';
import { chromiumMissing, launchChromium, servePage } from '../helpers/browser.js';
import { json } from '../helpers/auth-backend.js';
import { connect } from '../helpers/client.js';
import { BASIC, gatewayForSuite, LOGIN, PASSWORD, type GatewayProcess } from '../helpers/gateway.js';
import { findPython, runPython } from '../helpers/python.js';
import { untilNothingHeld } from '../helpers/held.js';

/** The README's publish snippet, verbatim but for the address and the credentials. */
const REQUESTS_SNIPPET = (url: string) => `import json
import requests

message = {"key": "noreply@goole.com", "value": {"foo": "bar"}, "expire": "30m"}
r = requests.post("${url}", data=json.dumps(message), auth=("${LOGIN}", "${PASSWORD}"))
print(r.status_code)
`;

/** The README's browser snippet, verbatim but for the address. */
const BROWSER_SNIPPET = (ws: string) => `<!doctype html><meta charset="utf-8"><script>
const seen = new Set();

function connect() {
  const socket = new WebSocket("${ws}");

  socket.onmessage = (event) => {
    const d = JSON.parse(event.data);
    // ACK the message id so Goctopus marks it delivered
    socket.send(JSON.stringify({ id: d.id }));

    if (seen.has(d.id)) return; // ignore duplicates
    seen.add(d.id);

    // do something with the payload that came from the backend
    console.log(d.payload);
  };

  // auto-reconnect with a small backoff
  socket.onclose = () => setTimeout(connect, 1000);
}

connect();
</script>`;

const requestsPython = findPython(['requests']);

/** POSTs `body` to "/" with the headers python-requests 2.28 sends for data=<str>: no Content-Type. */
function postLikeRequests(gw: GatewayProcess, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${gw.http}/`, {
      method: 'POST',
      headers: {
        'User-Agent': 'python-requests/2.28.1', 'Accept-Encoding': 'gzip, deflate', Accept: '*/*', Connection: 'keep-alive',
        'Content-Length': String(Buffer.byteLength(body)), Authorization: BASIC,
      },
    }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe("Goctopus README's backend snippet", () => {
  const suite = gatewayForSuite();

  test('the same request bytes (no Content-Type, path /) are accepted with 202 and delivered', async () => {
    const socket = await connect(suite.gw.ws('/ws?email=noreply@goole.com'));
    try {
      const answer = await postLikeRequests(suite.gw, JSON.stringify({ key: 'noreply@goole.com', value: { foo: 'bar' }, expire: '30m' }));
      assert.equal(answer.status, 202, answer.text);
      const [frame] = await socket.waitForFrames(1);
      assert.deepEqual(frame!.payload, { foo: 'bar' });
      assert.equal(typeof frame!.id, 'string');
    } finally {
      await socket.close();
    }
  });

  test('the snippet itself, run by python3 with requests', { skip: requestsPython === undefined ? 'no python3 with requests (apt-get install python3-requests; .ci/run installs it)' : false }, async () => {
    const socket = await connect(suite.gw.ws('/?email=noreply@goole.com'));
    try {
      const run = await runPython(requestsPython!, ['-c', REQUESTS_SNIPPET(`http://127.0.0.1:${suite.gw.port}`)]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.trim(), '202');
      const [frame] = await socket.waitForFrames(1);
      assert.deepEqual(frame!.payload, { foo: 'bar' });
    } finally {
      await socket.close();
    }
  });
});

describe("Goctopus README's browser snippet in Chromium", { skip: chromiumMissing() }, () => {
  const suite = gatewayForSuite({ WS_DELIVERY: 'at-least-once' });
  let browser: Browser;
  before(async () => { browser = await launchChromium(); });
  after(async () => { await browser?.close(); });

  test('connects to ws://host:port (path /) with its cookie, logs each payload once and acknowledges it', async () => {
    // The app's session cookie, as a Goctopus deployment authenticates the upgrade.
    suite.auth.setHandler((req, res) => (/\bsession=frank\b/.test(req.headers.cookie ?? '') ? json(res, 200, { user: { email: 'frank@example.com' } }) : json(res, 401, {})));
    const site = await servePage(BROWSER_SNIPPET(`ws://127.0.0.1:${suite.gw.port}`), { 'set-cookie': 'session=frank; Path=/; SameSite=Lax' });
    const page = await browser.newPage();
    const logged: unknown[] = [];
    let notify = (): void => {};
    page.on('console', (msg) => { void msg.args()[0]?.jsonValue().then((v) => { logged.push(v); notify(); }); });
    const logs = (count: number) => new Promise<void>((resolve) => {
      notify = () => { if (logged.length >= count) resolve(); };
      notify();
    });
    try {
      // Held before the page exists: delivered when it connects, then acknowledged by the snippet.
      assert.equal((await suite.gw.publish({ key: 'frank@example.com', value: { n: 1 } })).json.held, 1);
      await page.goto(site.url);
      await logs(1);
      await suite.auth.waitForRequests(1);
      const live = await suite.gw.publish({ key: 'frank@example.com', value: { n: 2 } });
      assert.equal(live.json.delivered, 1);
      await logs(2);
      assert.deepEqual(logged, [{ n: 1 }, { n: 2 }]);
      await untilNothingHeld(suite.gw, 'frank@example.com');
    } finally {
      await page.close();
      await site.close();
    }
  });
});
