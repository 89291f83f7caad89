// The HMAC signature: our padded-key HMAC-SHA256 equals node's createHmac for every key and body
// length, and the header parser takes the forms a publisher may send.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { OctowayError } from '../../src/errors.js';
import { checkTimestamp, hmacKeys, matchingSignature, parseSignature, signBody } from '../../src/http/hmac-signature.js';

test('HMAC-SHA256 as RFC 2104 defines it, for keys shorter, equal to and longer than the block, and any body', () => {
  for (const keyLength of [1, 16, 63, 64, 65, 200]) {
    const secret = randomBytes(keyLength).toString('base64').slice(0, keyLength);
    const [key] = hmacKeys([secret]);
    for (const bodyLength of [0, 1, 55, 64, 1000, 1 << 20]) {
      const body = randomBytes(bodyLength);
      const prefix = Buffer.from('1700000000.');
      const expected = createHmac('sha256', secret).update(prefix).update(body).digest();
      assert.deepEqual(key!.sign(prefix, body), expected, `key ${keyLength}, body ${bodyLength}`);
      assert.deepEqual(key!.sign(prefix, body), expected, 'the same again: the scratch block is reused safely');
    }
  }
});

test('a signature matches under any configured secret and any given v1 (rotation), and nothing else', () => {
  const body = Buffer.from('{"key":"k","value":1}');
  const t = 1_700_000_000;
  const oldSig = parseSignature(signBody('old-secret-0123456789', body, t)) as { t: number; v1: string[] };
  const keys = hmacKeys(['new-secret-0123456789', 'old-secret-0123456789']);
  // The replay key is the first secret's signature whichever v1 matched, so a request signed under
  // both secrets has one replay key however its v1 are dropped or ordered.
  const newSig = parseSignature(signBody('new-secret-0123456789', body, t)) as { t: number; v1: string[] };
  const replayKey = newSig.v1[0];
  assert.equal(matchingSignature(oldSig, keys, body), replayKey);
  assert.equal(matchingSignature(newSig, keys, body), replayKey);
  const twoSecrets = parseSignature(`t=${t},v1=${oldSig.v1[0]},v1=${newSig.v1[0]}`) as { t: number; v1: string[] };
  const swapped = parseSignature(`t=${t},v1=${newSig.v1[0]},v1=${oldSig.v1[0]}`) as { t: number; v1: string[] };
  assert.equal(matchingSignature(twoSecrets, keys, body), replayKey);
  assert.equal(matchingSignature(swapped, keys, body), replayKey);
  const both = parseSignature(`t=${t},v1=${'0'.repeat(64)},v1=${oldSig.v1[0]!.toUpperCase()}`);
  assert.ok(!(both instanceof OctowayError));
  assert.equal(matchingSignature(both, keys, body), replayKey, 'upper-case hex, the second v1');
  assert.equal(matchingSignature(oldSig, hmacKeys(['another-secret-0123']), body), undefined);
  assert.equal(matchingSignature(oldSig, keys, Buffer.from('{"key":"k","value":2}')), undefined);
});

test('header forms: spaces and unknown fields are fine; a missing or repeated t, a bad v1, five v1 are not', () => {
  const v1 = 'ab'.repeat(32);
  assert.deepEqual(parseSignature(`t=12, v1=${v1}, v2=whatever`), { t: 12, v1: [v1] });
  for (const header of [`v1=${v1}`, `t=1,t=2,v1=${v1}`, 't=1,v1=xyz', `t=1,v1=${v1.slice(2)}`, `t=-1,v1=${v1}`, `t=1;v1=${v1}`, `t=1,${Array(5).fill(`v1=${v1}`).join(',')}`, '']) {
    const parsed = parseSignature(header);
    assert.ok(parsed instanceof OctowayError && parsed.code === 'HMAC_SIGNATURE_MALFORMED', header);
  }
});

test('the timestamp: within the tolerance either way', () => {
  const now = 1_700_000_000_000;
  assert.equal(checkTimestamp({ t: now / 1000 - 300, v1: [] }, 300_000, now), undefined);
  assert.equal(checkTimestamp({ t: now / 1000 + 300, v1: [] }, 300_000, now), undefined);
  assert.equal(checkTimestamp({ t: now / 1000 - 301, v1: [] }, 300_000, now)?.code, 'HMAC_TIMESTAMP_OUT_OF_RANGE');
  assert.equal(checkTimestamp({ t: now / 1000 + 301, v1: [] }, 300_000, now)?.code, 'HMAC_TIMESTAMP_OUT_OF_RANGE');
});
