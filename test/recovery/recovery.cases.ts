// Recovery (docs/protocol.md, Recovery) against real gateways, shared by one node
// (test/gateway/recovery.test.ts) and two nodes over Redis (test/cluster/recovery.test.ts): sockets
// on `sub`, publishes through `pub`. The gateways run with WS_AUTH_MODE=jwt (secret `hs`),
// WS_HISTORY_SIZE=HISTORY and WS_MSG_EXPIRE=1m. "Nothing more arrived" is shown by a later message
// arriving after it, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GatewayProcess } from '../helpers/gateway.js';
import { eventually, synced } from '../helpers/cluster.js';
import { nowS, sign, type SigningKey } from '../helpers/jwt.js';
import { connectV2, messagesOf, type V2Socket } from '../helpers/v2.js';
import { connect } from '../helpers/client.js';

export const HISTORY = 80;

export interface RecoveryNodes {
  readonly pub: GatewayProcess;
  readonly sub: GatewayProcess;
}

let unique = 0;
const name = (what: string): string => `${what}-${process.pid}-${++unique}`;

export function recoveryCases(hs: SigningKey, nodes: () => RecoveryNodes): void {
  /** A v2 socket on `sub`, resolved once synced (its held messages and recovery done). */
  const open = async (claims: Record<string, unknown>, query = ''): Promise<V2Socket> => {
    const { sub } = nodes();
    const before = synced(sub);
    const token = await sign(hs, { exp: nowS() + 600, ...claims });
    const socket = await connectV2(sub.ws(`/ws?token=${token}${query}`));
    await eventually('the socket to sync', () => synced(sub) > before);
    return socket;
  };
  const publish = async (body: Record<string, unknown>): Promise<void> => {
    const answer = await nodes().pub.publish(body);
    assert.equal(answer.status, 202, JSON.stringify(answer.json));
  };
  /** Publishes the stream's message 1 (`{topic}` or `{key}`) and returns its seq less one: the
   * stream's base, read by a socket that sees it and then closes (expire 0: nothing held). */
  const baseOf = async (stream: { topic: string } | { key: string }): Promise<number> => {
    const claims = 'topic' in stream ? { sub: name('watch'), read: [stream.topic] } : { sub: stream.key };
    const watcher = await open(claims);
    if ('topic' in stream) await watcher.request({ type: 'subscribe', topic: stream.topic });
    await publish({ ...stream, value: 1, expire: '0' });
    const [first] = await messagesOf(watcher, 1);
    await watcher.close();
    return first.seq - 1;
  };
  /** Messages until the one whose payload is `marker`, which must arrive. */
  const until = async (socket: V2Socket, marker: string): Promise<any[]> => {
    await socket.waitFor((f) => f.type === 'message' && f.payload === marker);
    return socket.messages();
  };

  test('a topic: messages carry seq; a subscribe with since gets what it missed, in order, then live', async () => {
    const topic = name('room');
    const first = await open({ sub: name('u'), read: [topic] });
    await first.request({ type: 'subscribe', topic });
    for (const n of [1, 2]) await publish({ topic, value: n });
    const seen = await messagesOf(first, 2);
    // A stream's positions start anywhere (at its clock, in microseconds) and go up by one.
    const b = seen[0].seq - 1;
    assert.ok(Number.isSafeInteger(b) && b >= 0);
    assert.deepEqual(seen.map((m) => [m.topic, m.seq, m.payload]), [[topic, b + 1, 1], [topic, b + 2, 2]]);
    await first.close();
    for (const n of [3, 4, 5]) await publish({ topic, value: n });

    const again = await open({ sub: name('u'), read: [topic] });
    const reply = await again.request({ type: 'subscribe', topic, since: { [topic]: b + 2 } });
    assert.equal(reply.type, 'subscribed');
    await messagesOf(again, 3);
    await publish({ topic, value: 'live' });
    const got = await until(again, 'live');
    assert.deepEqual(got.map((m) => [m.seq - b, m.payload]), [[3, 3], [4, 4], [5, 5], [6, 'live']]);
    assert.equal(again.frames.filter((f) => f.type === 'gap').length, 0);
    await again.close();
  });

  /** Eight publishers, each sending `each` messages to `stream` one after another, the whole time
   * `during` runs (started after each has sent one): some publishes land while the history is read. */
  const racing = async (stream: { topic: string } | { key: string }, each: number, during: () => Promise<unknown>, expire = '1m'): Promise<void> => {
    let started = 0;
    let go!: () => void;
    const allStarted = new Promise<void>((resolve) => (go = resolve));
    const loops = Array.from({ length: 8 }, async (_, p) => {
      for (let n = 0; n < each; n++) {
        await publish({ ...stream, value: `p${p}-${n}`, expire });
        if (n === 0 && ++started === 8) go();
      }
    });
    await allStarted;
    await Promise.all([during(), ...loops]);
  };

  test('a topic: publishes racing the subscribe with since arrive once each, in order, no hole', async () => {
    const topic = name('race');
    const b = await baseOf({ topic });
    for (let n = 2; n <= 3; n++) await publish({ topic, value: n });
    const socket = await open({ sub: name('u'), read: [topic] });
    await racing({ topic }, 8, () => socket.request({ type: 'subscribe', topic, since: { [topic]: b + 1 } }));
    await publish({ topic, value: 'end' });
    const got = await until(socket, 'end');
    const seqs = got.map((m) => m.seq - b);
    // 2 and 3, the 64 racing ones, and the end marker: each once, in position order.
    assert.deepEqual(seqs, Array.from({ length: 67 }, (_, i) => i + 2), `seqs in order, each once: ${JSON.stringify(seqs)}`);
    assert.equal(new Set(got.map((m) => m.id)).size, got.length);
    await socket.close();
  });

  test('a topic: a subscribe with since sent twice at once recovers once; one unsubscribed at once gets nothing after', async () => {
    const topic = name('twice');
    const other = name('dropped');
    const b = await baseOf({ topic });
    const ob = await baseOf({ topic: other });
    for (const n of [2, 3]) await Promise.all([publish({ topic, value: n }), publish({ topic: other, value: n })]);
    const socket = await open({ sub: name('u'), read: [topic, other] });
    // Sent back to back, before any answer: the second subscribe and the unsubscribe arrive while
    // the first recoveries may still be reading the history.
    const replies = [
      socket.request({ type: 'subscribe', topics: [topic, other], since: { [topic]: b + 1, [other]: ob + 1 } }),
      socket.request({ type: 'subscribe', topic, since: { [topic]: b + 1 } }),
      socket.request({ type: 'unsubscribe', topic: other }),
    ];
    assert.deepEqual((await Promise.all(replies)).map((r) => r.type), ['subscribed', 'subscribed', 'unsubscribed']);
    await publish({ topic: other, value: 'not wanted' });
    await publish({ topic, value: 'end' });
    const got = await until(socket, 'end');
    assert.deepEqual(got.filter((m) => m.topic === topic).map((m) => [m.seq - b, m.payload]), [[2, 2], [3, 3], [4, 'end']]);
    // The unsubscribed topic: its recovery may have been written before the unsubscribe (then once,
    // in order), or not at all; never anything after it.
    const dropped = got.filter((m) => m.topic === other).map((m) => m.payload);
    assert.ok(dropped.length === 0 || JSON.stringify(dropped) === '[2,3]', JSON.stringify(dropped));
    await socket.close();
  });

  test('a topic whose history no longer reaches back: a gap frame, then live messages', async () => {
    const topic = name('gap');
    const b = await baseOf({ topic });
    for (let n = 2; n <= HISTORY + 3; n++) await publish({ topic, value: n });
    const socket = await open({ sub: name('u'), read: [topic] });
    await socket.request({ type: 'subscribe', topic, since: { [topic]: b + 1 } });
    const gap = await socket.waitFor((f) => f.type === 'gap');
    assert.deepEqual(gap, { type: 'gap', topic, since: b + 1, seq: b + HISTORY + 3 });
    await publish({ topic, value: 'live' });
    const got = await until(socket, 'live');
    assert.deepEqual(got.map((m) => [m.seq - b, m.payload]), [[HISTORY + 4, 'live']]);
    // A position ahead of the stream is unknown to it (a stream that restarted, say): a gap too.
    const ahead = await open({ sub: name('u'), read: [topic] });
    await ahead.request({ type: 'subscribe', topic, since: { [topic]: b + 999 } });
    assert.deepEqual(await ahead.waitFor((f) => f.type === 'gap'), { type: 'gap', topic, since: b + 999, seq: b + HISTORY + 4 });
    await Promise.all([socket.close(), ahead.close()]);
  });

  test('a bad since is refused with SINCE_INVALID and subscribes nothing', async () => {
    const topic = name('bad');
    const socket = await open({ sub: name('u'), read: [topic, 'other'] });
    for (const since of [{ other: 1 }, { [topic]: -1 }, { [topic]: 1.5 }, [1], 'x']) {
      const answer = await socket.request({ type: 'subscribe', topic, since });
      assert.equal(answer.code, 'SINCE_INVALID', JSON.stringify(since));
    }
    await publish({ topic, value: 'nobody' });
    await socket.request({ type: 'subscribe', topic });
    await publish({ topic, value: 'after' });
    assert.deepEqual((await until(socket, 'after')).map((m) => m.payload), ['after']);
    await socket.close();
  });

  test('a key: since in the connect URL replays what it missed (held or not) once, in order, then live', async () => {
    const key = name('k');
    const first = await open({ sub: key });
    for (const n of [1, 2]) await publish({ key, value: n });
    const seen = await messagesOf(first, 2);
    const b = seen[0].seq - 1;
    assert.deepEqual(seen.map((m) => [m.key, m.seq - b]), [[key, 1], [key, 2]]);
    await first.close();
    // Held for the key (no socket) and in its history: written once.
    for (const n of [3, 4, 5]) await publish({ key, value: n });
    const again = await open({ sub: key }, `&since=${encodeURIComponent(JSON.stringify({ [key]: b + 2 }))}`);
    await publish({ key, value: 'live' });
    const got = await until(again, 'live');
    assert.deepEqual(got.map((m) => [m.seq - b, m.payload]), [[3, 3], [4, 4], [5, 5], [6, 'live']]);
    await again.close();
  });

  test('a key: publishes racing the connect with since arrive once each, in order', async () => {
    const key = name('kr');
    const b = await baseOf({ key });
    for (let n = 2; n <= 3; n++) await publish({ key, value: n, expire: '0' });
    let socket!: V2Socket;
    // expire 0: a racing publish decided before the socket counted anywhere is neither held nor
    // delivered, and is recovered from the history all the same.
    await racing({ key }, 8, async () => {
      socket = await open({ sub: key }, `&since=${encodeURIComponent(JSON.stringify({ [key]: b + 1 }))}`);
    }, '0');
    await publish({ key, value: 'end', expire: '0' });
    const got = await until(socket, 'end');
    const seqs = got.map((m) => m.seq - b);
    assert.deepEqual(seqs, Array.from({ length: 67 }, (_, i) => i + 2), `seqs in order, each once: ${JSON.stringify(seqs)}`);
    await socket.close();
  });

  test('a key whose history no longer reaches back: a gap frame first; a bad since refuses the upgrade', async () => {
    const key = name('kg');
    const b = await baseOf({ key });
    for (let n = 2; n <= HISTORY + 2; n++) await publish({ key, value: n, expire: '0' });
    const socket = await open({ sub: key }, `&since=${encodeURIComponent(JSON.stringify({ [key]: b + 1 }))}`);
    assert.deepEqual(socket.frames[1], { type: 'gap', key, since: b + 1, seq: b + HISTORY + 2 });
    await publish({ key, value: 'live' });
    assert.deepEqual((await until(socket, 'live')).map((m) => [m.seq - b, m.payload]), [[HISTORY + 3, 'live']]);
    await socket.close();
    const token = await sign(hs, { exp: nowS() + 600, sub: key });
    await assert.rejects(connectV2(nodes().sub.ws(`/ws?token=${token}&since=${encodeURIComponent('{"someone-else":1}')}`)), (err: any) => err.status === 400);
  });

  test('a Goctopus socket gets Goctopus frames exactly, with the history on (no seq), and since is ignored for it', async () => {
    const key = name('g');
    const { sub } = nodes();
    const before = synced(sub);
    const token = await sign(hs, { exp: nowS() + 600, sub: key });
    const socket = await connect(sub.ws(`/ws?token=${token}&since=${encodeURIComponent(JSON.stringify({ [key]: 0 }))}`));
    await eventually('the socket to sync', () => synced(sub) > before);
    await publish({ key, value: { n: 1 }, message_id: `${key}-1` });
    await socket.waitForFrames(1);
    assert.deepEqual(socket.frames, [{ id: `${key}-1`, payload: { n: 1 } }]);
    await socket.close();
  });
}
