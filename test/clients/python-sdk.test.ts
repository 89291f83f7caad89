// The Python SDK (clients/python) against the real gateway: its unittest suite (publish, batch,
// admin calls, typed errors, retries that reuse one message_id, timeouts; bearer and HMAC
// publishers, a retried signed publish signed anew; tickets, presence, history), a publish a
// WebSocket receives, and a ticket the SDK made opening a socket that receives a signed publish.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../helpers/client.js';
import { gatewayForSuite, LOGIN, PASSWORD } from '../helpers/gateway.js';
import { findPython, runPython } from '../helpers/python.js';

const python = findPython(['json', 'urllib.request']);
const TOKEN = 'python-sdk-bearer-token-0123456789';
const HMAC_SECRET = 'python-sdk-hmac-secret-0123456789';

describe('Python SDK against the gateway', { skip: python === undefined ? 'no python3 on this machine' : false }, () => {
  const suite = gatewayForSuite({
    WS_PUBLISH_AUTH: 'basic,bearer,hmac', WS_PUBLISH_TOKENS: TOKEN, WS_HMAC_SECRET: HMAC_SECRET,
    WS_AUTH_MODE: 'ticket,forward', WS_HISTORY_SIZE: '10',
  });
  const env = () => ({
    OCTOWAY_URL: suite.gw.http, OCTOWAY_LOGIN: LOGIN, OCTOWAY_PASSWORD: PASSWORD, OCTOWAY_TOKEN: TOKEN, OCTOWAY_HMAC_SECRET: HMAC_SECRET,
  });

  test('the SDK unittest suite passes', async () => {
    const run = await runPython(python!, ['-m', 'unittest', 'discover', '-s', 'clients/python/tests', '-v'], env());
    assert.equal(run.code, 0, run.stderr);
    const ran = /Ran (\d+) tests?/.exec(run.stderr);
    assert.ok(ran !== null && Number(ran[1]) >= 16, `expected the whole suite to run:\n${run.stderr}`);
  });

  test('a socket receives what the SDK publishes, under the id the SDK chose', async () => {
    const socket = await connect(suite.gw.ws('/ws?email=carol@example.com'));
    try {
      const script = 'import json, os; from octoway import Octoway\n'
        + 'c = Octoway(os.environ["OCTOWAY_URL"], os.environ["OCTOWAY_LOGIN"], os.environ["OCTOWAY_PASSWORD"])\n'
        + 'print(json.dumps(c.publish("carol@example.com", {"from": "python"}, expire="1m")))';
      const run = await runPython(python!, ['-c', script], env());
      assert.equal(run.code, 0, run.stderr);
      const answer = JSON.parse(run.stdout) as { id: string; delivered: number };
      assert.equal(answer.delivered, 1);
      const [frame] = await socket.waitForFrames(1);
      assert.deepEqual(frame, { id: answer.id, payload: { from: 'python' } });
    } finally {
      await socket.close();
    }
  });

  test('a ticket the SDK makes opens a socket that receives what the SDK publishes with an HMAC signature', async () => {
    const user = `dora-${process.pid}@example.com`;
    const make = 'import json, os; from octoway import Octoway\n'
      + 'c = Octoway(os.environ["OCTOWAY_URL"], token=os.environ["OCTOWAY_TOKEN"])\n'
      + `print(json.dumps(c.create_ticket(${JSON.stringify(user)}, keys=["room-7"], ttl="30s")))`;
    const made = await runPython(python!, ['-c', make], env());
    assert.equal(made.code, 0, made.stderr);
    const { ticket } = JSON.parse(made.stdout) as { ticket: string };
    const socket = await connect(suite.gw.ws(`/ws?ticket=${encodeURIComponent(ticket)}`));
    try {
      const publish = 'import json, os; from octoway import Octoway\n'
        + 'c = Octoway(os.environ["OCTOWAY_URL"], hmac_secret=os.environ["OCTOWAY_HMAC_SECRET"])\n'
        + 'print(json.dumps(c.publish("room-7", {"signed": True})))';
      const run = await runPython(python!, ['-c', publish], env());
      assert.equal(run.code, 0, run.stderr);
      const answer = JSON.parse(run.stdout) as { id: string; delivered: number };
      assert.equal(answer.delivered, 1);
      const [frame] = await socket.waitForFrames(1);
      assert.deepEqual(frame, { id: answer.id, payload: { signed: true } });
    } finally {
      await socket.close();
    }
  });
});
