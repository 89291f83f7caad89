// WS_COMPRESS against the real gateway: permessage-deflate is negotiated only with clients that offer
// it, and frames reach them compressed on every path (topic publish, held messages, multi-key sends).
// Compression is checked on the wire: bytes read by the client's TCP socket against the frame size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { withGateway, type GatewayProcess } from '../helpers/gateway.js';

/** A payload that deflates to a few hundred bytes. */
const BIG = 'octoway '.repeat(4_000);

interface WireSocket {
  readonly ws: WebSocket;
  /** Sec-WebSocket-Extensions of the 101 answer, or undefined. */
  readonly extensions: string | undefined;
  /** Resolves with the next frame's payload and the bytes the TCP socket read to get it. */
  next(): Promise<{ payload: unknown; wireBytes: number }>;
}

function open(gw: GatewayProcess, email: string, perMessageDeflate: boolean): Promise<WireSocket> {
  const ws = new WebSocket(gw.ws(`/ws?email=${email}`), { perMessageDeflate });
  let tcp: Socket | undefined;
  let extensions: string | undefined;
  let readBefore = 0;
  const queue: Array<{ payload: unknown; wireBytes: number }> = [];
  const waiters: Array<(frame: { payload: unknown; wireBytes: number }) => void> = [];
  ws.on('upgrade', (res) => {
    tcp = res.socket;
    extensions = res.headers['sec-websocket-extensions'];
  });
  ws.on('message', (data) => {
    // Frames are taken one at a time here, so the bytes read since the last one are this frame's
    // (a frame split over reads is counted whole once its last part arrived). The first frame also
    // counts the 101 answer (about 200 bytes), which may arrive in the same read.
    const frame = { payload: (JSON.parse(data.toString()) as { payload: unknown }).payload, wireBytes: tcp!.bytesRead - readBefore };
    readBefore = tcp!.bytesRead;
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(frame);
    else queue.push(frame);
  });
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => resolve({
      ws,
      get extensions() { return extensions; },
      next: () => {
        const queued = queue.shift();
        return queued !== undefined ? Promise.resolve(queued) : new Promise((r) => waiters.push(r));
      },
    }));
  });
}

async function close(socket: WireSocket): Promise<void> {
  const closed = new Promise((resolve) => socket.ws.once('close', resolve));
  socket.ws.close();
  await closed;
}

test('WS_COMPRESS=true: deflate negotiated with a client that offers it, frames compressed on every path', async () => {
  await withGateway({ WS_COMPRESS: 'true' }, async (gw) => {
    // Held first: written to the socket one by one as it connects (the per-socket path).
    assert.equal((await gw.publish({ key: 'ann', value: BIG })).status, 202);
    const socket = await open(gw, 'ann', true);
    assert.match(socket.extensions ?? '', /^permessage-deflate\b/);
    assert.match(socket.ws.extensions, /permessage-deflate/);

    const held = await socket.next();
    assert.equal(held.payload, BIG);
    assert.ok(held.wireBytes < BIG.length / 10, `held frame took ${held.wireBytes} bytes on the wire for ${BIG.length} of payload`);

    // Live, one key: the uWS topic path.
    await gw.publish({ key: 'ann', value: BIG });
    const live = await socket.next();
    assert.equal(live.payload, BIG);
    assert.ok(live.wireBytes < BIG.length / 10, `topic frame took ${live.wireBytes} bytes`);

    // Live, several keys: the per-socket path again.
    await gw.publish({ keys: ['ann', 'nobody'], value: BIG });
    const multi = await socket.next();
    assert.equal(multi.payload, BIG);
    assert.ok(multi.wireBytes < BIG.length / 10, `multi-key frame took ${multi.wireBytes} bytes`);
    await close(socket);
  });
});

test('WS_COMPRESS=true: a client that does not offer deflate gets plain frames, beside one that does', async () => {
  await withGateway({ WS_COMPRESS: 'true' }, async (gw) => {
    await gw.publish({ key: 'bo', value: BIG });
    const plain = await open(gw, 'bo', false);
    const deflating = await open(gw, 'bo', true);
    assert.equal(plain.extensions, undefined);
    assert.equal(plain.ws.extensions, '');

    const held = await plain.next();
    assert.equal(held.payload, BIG);
    assert.ok(held.wireBytes > BIG.length, `plain held frame: ${held.wireBytes} bytes`);

    // One topic publish reaches both sockets, each in the form it negotiated.
    await gw.publish({ key: 'bo', value: BIG });
    const [a, b] = await Promise.all([plain.next(), deflating.next()]);
    assert.deepEqual([a.payload, b.payload], [BIG, BIG]);
    assert.ok(a.wireBytes > BIG.length, `plain topic frame: ${a.wireBytes} bytes`);
    assert.ok(b.wireBytes < BIG.length / 10, `deflated topic frame: ${b.wireBytes} bytes`);
    await close(plain);
    await close(deflating);
  });
});

test('WS_COMPRESS unset: deflate is not negotiated even when offered', async () => {
  await withGateway({}, async (gw) => {
    const socket = await open(gw, 'cy', true);
    assert.equal(socket.extensions, undefined);
    await gw.publish({ key: 'cy', value: BIG });
    const frame = await socket.next();
    assert.equal(frame.payload, BIG);
    assert.ok(frame.wireBytes > BIG.length);
    await close(socket);
  });
});

test('WS_COMPRESS=true: an inbound frame that inflates past WS_MAX_PAYLOAD closes that socket only', async () => {
  await withGateway({ WS_COMPRESS: 'true', WS_MAX_PAYLOAD: '64KiB' }, async (gw) => {
    const bomb = await open(gw, 'dee', true);
    const code = new Promise<number>((resolve) => bomb.ws.once('close', resolve));
    // Under the limit inflated: taken (ignored, as any frame that is not an acknowledgement).
    bomb.ws.send('a'.repeat(32 << 10), { compress: true });
    await gw.publish({ key: 'dee', value: 'after a large frame' });
    assert.equal((await bomb.next()).payload, 'after a large frame');
    // 1 MiB of one letter deflates to about 1 KiB: small on the wire, 16 times the limit inflated.
    // uWS drops the connection without a close frame (1006 here), as for any frame over the limit.
    bomb.ws.send('a'.repeat(1 << 20), { compress: true });
    assert.ok([1006, 1009].includes(await code));
    const other = await open(gw, 'dee', true);
    await gw.publish({ key: 'dee', value: 'still serving' });
    assert.equal((await other.next()).payload, 'still serving');
    await close(other);
  });
});
