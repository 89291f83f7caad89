// The nesting bound of publish bodies against the real gateway: a deeply nested but valid value
// used to overflow the stack when the frame was serialised (500); now 400 VALUE_TOO_DEEP.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayForSuite } from '../helpers/gateway.js';
import { connect } from '../helpers/client.js';
import { MAX_JSON_DEPTH } from '../../src/http/json-depth.js';

/** A value nesting `levels` arrays (and objects every other level) around a string. */
function nested(levels: number): string {
  let text = '"core"';
  for (let i = 0; i < levels; i++) text = i % 2 === 0 ? `[${text}]` : `{"k":${text}}`;
  return text;
}

describe('publish body nesting', () => {
  const suite = gatewayForSuite();

  test('10,000 levels of valid JSON: 400 VALUE_TOO_DEEP, nothing held, nothing logged as an error', async () => {
    const { gw } = suite;
    for (const body of [`{"key":"deep","value":${nested(10_000)}}`, `{"messages":[{"key":"deep","value":${nested(10_000)}}]}`]) {
      const r = await gw.request('POST', '/', { body });
      assert.deepEqual([r.status, r.json.error], [400, 'VALUE_TOO_DEEP']);
      assert.match(r.json.message, new RegExp(`${MAX_JSON_DEPTH} levels`));
    }
    assert.deepEqual((await gw.request('GET', '/')).json, []);
    assert.equal(gw.logs.filter((l) => l.level >= 50).length, 0);
  });

  test('the bound counts the body\'s own braces: one level past it is refused, the bound itself delivered intact', async () => {
    const { gw } = suite;
    const refused = await gw.request('POST', '/', { body: `{"key":"deep","value":${nested(MAX_JSON_DEPTH)}}` });
    assert.deepEqual([refused.status, refused.json.error], [400, 'VALUE_TOO_DEEP']);
    const socket = await connect(gw.ws('/ws?email=deep@example.com'));
    const value = nested(MAX_JSON_DEPTH - 1);
    const r = await gw.request('POST', '/', { body: `{"key":"deep@example.com","value":${value}}` });
    assert.deepEqual([r.status, r.json.delivered], [202, 1]);
    const [frame] = await socket.waitForFrames(1);
    assert.deepEqual(frame?.payload, JSON.parse(value));
    await socket.close();
  });

  test('brackets inside strings, escaped quotes included, do not count', async () => {
    const { gw } = suite;
    const value = `${'['.repeat(5000)}\\"${'{'.repeat(5000)}`;
    const r = await gw.request('POST', '/', { body: `{"key":"brackets","value":"${value}","expire":"0"}` });
    assert.equal(r.status, 202);
  });
});
