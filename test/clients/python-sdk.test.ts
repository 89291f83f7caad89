// The Python SDK (clients/python) against the real gateway: its unittest suite (publish, batch,
// admin calls, typed errors, retries that reuse one message_id, timeouts), and a publish a
// WebSocket receives.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../helpers/client.js';
import { gatewayForSuite, LOGIN, PASSWORD } from '../helpers/gateway.js';
import { findPython, runPython } from '../helpers/python.js';

const python = findPython(['json', 'urllib.request']);

describe('Python SDK against the gateway', { skip: python === undefined ? 'no python3 on this machine' : false }, () => {
  const suite = gatewayForSuite();
  const env = () => ({ OCTOWAY_URL: suite.gw.http, OCTOWAY_LOGIN: LOGIN, OCTOWAY_PASSWORD: PASSWORD });

  test('the SDK unittest suite passes', async () => {
    const run = await runPython(python!, ['-m', 'unittest', 'discover', '-s', 'clients/python/tests', '-v'], env());
    assert.equal(run.code, 0, run.stderr);
    const ran = /Ran (\d+) tests?/.exec(run.stderr);
    assert.ok(ran !== null && Number(ran[1]) >= 9, `expected the whole suite to run:\n${run.stderr}`);
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
});
