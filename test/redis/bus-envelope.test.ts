// The bus envelope: what each node reads from each kind of bus message, including the version 0
// format older nodes publish, and what version 0 code (an older node during a rolling upgrade)
// does with version 1 envelopes: it must ignore them, except a publish addressed to it by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { controlEnvelope, publishEnvelope, publishHeader, readControl, readPublish, readRoute } from '../../src/redis/bus-envelope.js';

const NODE = 'host-a:1:abcdef';
const OTHER = 'host-b:1:123456';

test('a publish envelope reads back as the keys with sockets, the id and the frame, on every node', () => {
  const text = publishEnvelope('2,3', publishHeader('m1', ['a', 'b', 'c']), '{"id":"m1","payload":1}');
  assert.ok(text.startsWith('@1p@'));
  for (const node of [NODE, OTHER]) {
    const route = readRoute(text, node);
    assert.equal(route.kind, 'publish');
    if (route.kind !== 'publish') return;
    assert.deepEqual(readPublish(text, route.body), { id: 'm1', keys: ['a', 'b', 'c'], targets: ['b', 'c'], frame: '{"id":"m1","payload":1}' });
  }
});

test('a frame holding "|", "@" and newlines is carried whole', () => {
  const frame = '{"id":"x","payload":"a|b@c\\nd"}\n|@';
  const text = publishEnvelope('1', publishHeader('x', ['k|@']), frame);
  const route = readRoute(text, NODE);
  assert.equal(route.kind, 'publish');
  if (route.kind === 'publish') assert.deepEqual(readPublish(text, route.body), { id: 'x', keys: ['k|@'], targets: ['k|@'], frame });
});

test('version 0 publishes (older nodes) are read as publishes; addressed ones by the named nodes only', () => {
  const plain = `1|${publishHeader('old', ['k'])}\nframe`;
  const route = readRoute(plain, NODE);
  assert.equal(route.kind, 'publish');
  if (route.kind === 'publish') assert.deepEqual(readPublish(plain, route.body)?.targets, ['k']);
  const addressed = `@${NODE}@1|${publishHeader('old', ['k'])}\nframe`;
  assert.equal(readRoute(addressed, NODE).kind, 'publish');
  assert.equal(readRoute(addressed, OTHER).kind, 'elsewhere');
});

test('control envelopes: requests reach every node, a reply only the node it names', () => {
  const request = controlEnvelope('disconnect', { rid: 'r1', from: 'n1' });
  for (const node of [NODE, 'n1']) {
    const route = readRoute(request, node);
    assert.equal(route.kind, 'disconnect');
    if (route.kind === 'disconnect') assert.deepEqual(readControl(request, route.body), { rid: 'r1', from: 'n1' });
  }
  assert.equal(readRoute(controlEnvelope('query', {}), NODE).kind, 'query');
  const reply = controlEnvelope('reply', { rid: 'r1', result: { closed: 2 } }, 'n1');
  assert.equal(readRoute(reply, 'n1').kind, 'reply');
  assert.equal(readRoute(reply, NODE).kind, 'elsewhere');
});

test('another version or an unknown kind is reported as unknown with its tag, never parsed', () => {
  assert.deepEqual(readRoute('@2p@1|["a",["k"]]\nf', NODE), { kind: 'unknown', tag: '2p' });
  assert.deepEqual(readRoute('@1z@{}', NODE), { kind: 'unknown', tag: '1z' });
  assert.equal(readRoute('@no end', NODE).kind, 'unknown');
  assert.equal(readPublish('@1p@1|not json\nf', 4), undefined);
  assert.equal(readPublish('@1p@7|["a",["k"]]\nf', 4), undefined, 'an index past the keys is malformed, not undefined delivered');
  assert.equal(readControl('@1q@{', 4), undefined);
});

/** What version 0 code (redis-broker.ts before envelopes) did with a bus message: the keys it
 * delivered to, or undefined when it ignored the message. */
function versionZero(bus: string, node: string): string[] | undefined {
  let text = bus;
  if (bus.charCodeAt(0) === 64) {
    const end = bus.indexOf('@', 1);
    if (!bus.slice(1, end).split(',').includes(node)) return undefined;
    text = bus.slice(end + 1);
  }
  const bar = text.indexOf('|');
  const newline = text.indexOf('\n', bar);
  const keys = (JSON.parse(text.slice(bar + 1, newline)) as [string, string[]])[1];
  const present = text.slice(0, bar);
  return present === '1' && keys.length === 1 ? keys : present.split(',').map((i) => keys[Number(i) - 1] as string);
}

test('an older node ignores every version 1 envelope but a publish addressed to it, which it reads right', () => {
  const header = publishHeader('m', ['a', 'b']);
  for (const text of [publishEnvelope('1,2', header, 'f'), controlEnvelope('disconnect', {}), controlEnvelope('query', {}), controlEnvelope('reply', {}, 'n1')]) {
    assert.equal(versionZero(text, NODE), undefined, text);
  }
  // A promoted publish, as the Lua busPublish addresses it: "@1p,<nodes>@<present>|header\nframe".
  assert.deepEqual(versionZero(`@1p,${NODE}@2|${header}\nf`, NODE), ['b']);
  assert.equal(versionZero(`@1p,${NODE}@2|${header}\nf`, OTHER), undefined);
});

test('stream positions: a publish header and a live envelope carry seqs aligned with their targets; without them, none', async () => {
  const { liveEnvelope, liveEnvelopeHead, readLive } = await import('../../src/redis/bus-envelope.js');
  const text = publishEnvelope('1,3', publishHeader('m', ['a', 'b', 'c'], [7, 0, 9]), 'f');
  const route = readRoute(text, NODE);
  assert.ok(route.kind === 'publish');
  assert.deepEqual(readPublish(text, route.body), { id: 'm', keys: ['a', 'b', 'c'], targets: ['a', 'c'], seqs: [7, 9], frame: 'f' });
  const single = publishEnvelope('1', publishHeader('m', ['a'], [5]), 'f');
  const one = readRoute(single, NODE);
  assert.ok(one.kind === 'publish');
  assert.deepEqual(readPublish(single, one.body)?.seqs, [5]);
  // What the LIVE script builds (head, seqs, frame) is what liveEnvelope builds, and reads back.
  const built = `${liveEnvelopeHead(NODE, 'l', ['a', 't'], 'c-1')}3,4]]\nframe`;
  assert.equal(built, liveEnvelope(NODE, 'l', ['a', 't'], 'c-1', 'frame', [3, 4]));
  const live = readRoute(built, OTHER);
  assert.ok(live.kind === 'live');
  assert.deepEqual(readLive(built, live.body), { origin: NODE, id: 'l', targets: ['a', 't'], from: 'c-1', seqs: [3, 4], frame: 'frame' });
  const plain = liveEnvelope(NODE, 'l', ['t'], undefined, 'frame');
  const r = readRoute(plain, OTHER);
  assert.ok(r.kind === 'live');
  assert.equal(readLive(plain, r.body)?.seqs, undefined);
  // Not integers: ignored (the message is delivered without positions), never a crash.
  const odd = publishEnvelope('1', '["m",["a"],["x"]]', 'f');
  const o = readRoute(odd, NODE);
  assert.ok(o.kind === 'publish');
  assert.deepEqual(readPublish(odd, o.body), { id: 'm', keys: ['a'], targets: ['a'], frame: 'f' });
});
