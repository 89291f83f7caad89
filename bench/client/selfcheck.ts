// `--selfcheck`: the raw client's frame parsing and HTTP handling checked against the `ws` package and node:http.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateRawSync, constants as zlib } from 'node:zlib';
import { WebSocket, WebSocketServer } from 'ws';
import { buildFrame, keyFromUrl } from '../reference/common.js';
import { parseSingle, singleBody, value } from '../scenarios/common.js';
import { HttpConn } from './http-publisher.js';
import { Tracker } from './tracker.js';
import { assertOpened, closeAll, openMany, WsConn, type FrameSink } from './ws-client.js';

let passed = 0;
let failed = 0;
function check(name: string, ok: boolean, detail = ''): void {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${!ok && detail ? ': ' + detail : ''}`);
}

/** Unmasked server frame, as a server would send it. */
function serverFrame(op: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | op, n]) : n < 65536 ? Buffer.from([0x80 | op, 126, n >> 8, n & 255]) : Buffer.alloc(10);
  if (n >= 65536) {
    head[0] = 0x80 | op;
    head[1] = 127;
    head.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    head.writeUInt32BE(n >>> 0, 6);
  }
  return Buffer.concat([head, payload]);
}

/** Every length encoding, a ping in between, fed whole, byte by byte and in random cuts. */
function parserCheck(): void {
  const sizes = [0, 1, 125, 126, 127, 300, 65535, 65536, 70_000];
  const payloads = sizes.map((n, i) => Buffer.from(String(i).padEnd(n, 'abcdefgh').slice(0, n)));
  const stream = Buffer.concat(payloads.flatMap((p, i) => (i === 3 ? [serverFrame(9, Buffer.from('hi')), serverFrame(1, p)] : [serverFrame(1, p)])));
  const cuts: [string, (b: Buffer) => Buffer[]][] = [
    ['whole', (b) => [b]],
    ['byte by byte', (b) => Array.from({ length: b.length }, (_, i) => b.subarray(i, i + 1))],
    [
      'random cuts',
      (b) => {
        const out: Buffer[] = [];
        for (let i = 0; i < b.length; ) {
          const n = 1 + Math.floor(Math.random() * 3000);
          out.push(b.subarray(i, i + n));
          i += n;
        }
        return out;
      },
    ],
  ];
  for (const [name, cut] of cuts) {
    const got: string[] = [];
    const sink: FrameSink = { onText: (_c, buf, s, e) => void got.push(buf.toString('latin1', s, e)) };
    const conn = new WsConn(0, sink);
    for (const chunk of cut(stream)) conn.feedForTest(chunk);
    const same = got.length === payloads.length && got.every((g, i) => g === payloads[i]!.toString('latin1'));
    check(`frame parser, ${name}`, same && conn.error === null, `${got.length} frames, error ${conn.error}`);
  }
  // permessage-deflate without context takeover: each message deflated alone, its 00 00 ff ff tail
  // stripped (RFC 7692 §7.2.1), RSV1 set; mixed with plain frames, as a server may send both.
  const deflated = (p: Buffer): Buffer => {
    const frame = serverFrame(1, deflateRawSync(p, { finishFlush: zlib.Z_SYNC_FLUSH }).subarray(0, -4));
    frame[0] = frame[0]! | 0x40;
    return frame;
  };
  const mixed = Buffer.concat(payloads.map((p, i) => (i % 2 === 0 ? deflated(p) : serverFrame(1, p))));
  const got: string[] = [];
  const conn = new WsConn(0, { onText: (_c, buf, s, e) => void got.push(buf.toString('latin1', s, e)) }, true);
  for (let i = 0; i < mixed.length; i += 1000) conn.feedForTest(mixed.subarray(i, i + 1000));
  const same = got.length === payloads.length && got.every((g, i) => g === payloads[i]!.toString('latin1'));
  check('frame parser, deflated frames among plain ones', same && conn.error === null, `${got.length} frames, error ${conn.error}`);
}

/** A `ws` server with /pub; every other response chunked so both body framings of the publisher get exercised. */
async function startServer(): Promise<{ port: number; close: () => void; pongs: () => number; closes: number[] }> {
  const sockets = new Map<string, Set<WebSocket>>();
  let n = 0;
  let pongs = 0;
  const closes: number[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { key, value: v } = JSON.parse(Buffer.concat(chunks).toString()) as { key: string; value: unknown };
      const { id, frame } = buildFrame(v);
      const set = sockets.get(key) ?? new Set();
      for (const ws of set) ws.send(frame);
      const body = JSON.stringify({ id, delivered: set.size, held: 0 });
      res.statusCode = 202;
      if (n++ % 2 === 0) res.setHeader('Content-Length', Buffer.byteLength(body));
      res.write(body.slice(0, 10));
      res.end(body.slice(10));
    });
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (ws, req) => {
    const key = keyFromUrl(req.url ?? '');
    if (!sockets.has(key)) sockets.set(key, new Set());
    sockets.get(key)!.add(ws);
    ws.on('pong', (d) => void (d.toString() === 'abc' && pongs++));
    ws.on('close', (code) => closes.push(code));
    ws.ping('abc');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, close: () => (wss.close(), server.close()), pongs: () => pongs, closes };
}

async function liveCheck(): Promise<void> {
  const srv = await startServer();
  const sizes = [100, 100, 126, 500, 65_535, 65_536, 100_000, 100];
  const M = 40;
  const tracker = new Tracker({ messages: M, perKey: M, keyOf: () => 0, qOf: (m) => m, strictOrder: true, latencySamples: 4 * M });
  const opened = await openMany({ host: '127.0.0.1', port: srv.port, count: 4, path: () => '/ws?key=sc', inFlight: 4, sink: tracker, init: (c) => tracker.register(c, 0), totalTimeoutMs: 5000 });
  assertOpened(opened, 'selfcheck');
  // The `ws` package's own client, on the same key, as the reference reader.
  const refs = await Promise.all(
    [0, 1].map(
      () =>
        new Promise<{ ws: WebSocket; frames: { id: string; payload: { m: number; t: number } }[] }>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/ws?key=sc`);
          const frames: { id: string; payload: { m: number; t: number } }[] = [];
          ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as (typeof frames)[number]));
          ws.on('open', () => resolve({ ws, frames }));
          ws.on('error', reject);
        }),
    ),
  );
  for (let m = 0; m < M; m++) tracker.expect(m, 4);
  const pub = new HttpConn('127.0.0.1', srv.port);
  const postIds: string[] = [];
  for (let m = 0; m < M; m++) {
    const wave = tracker.waitMessage(m, 5000, opened.conns);
    const r = await pub.request('POST', '/pub', singleBody('sc', value(m, m, sizes[m % sizes.length]!)));
    const res = parseSingle(r.status, r.body);
    postIds[m] = res.id;
    if (res.delivered !== 6) throw new Error(`delivered=${res.delivered}, expected 6`);
    await wave;
  }
  check('publisher: 40 POSTs on one keep-alive connection, Content-Length and chunked answers', postIds.length === M);
  let err = '';
  try {
    tracker.verify(opened.conns, postIds);
  } catch (e) {
    err = (e as Error).message;
  }
  check('raw client: 4 sockets × 40 frames (7 B … 100 kB), ids, order, no loss or duplicate', err === '', err);
  await new Promise((r) => setTimeout(r, 200));
  const agree = refs.every((ref) => ref.frames.length === M && ref.frames.every((f, m) => f.id === tracker.frameIds[m] && f.payload.m === m));
  check('raw client agrees with the ws package client on every frame', agree, refs.map((r) => r.frames.length).join('/'));
  const t = tracker.lat.subarray(0, tracker.nLat);
  check('latency samples are sane (0 ≤ latency < 1 s)', t.length === 4 * M && t.every((x) => x >= 0 && x < 1e6));
  check('pings answered with a pong carrying the ping payload', srv.pongs() >= 4, `${srv.pongs()} pongs`);
  const forced = await closeAll(opened.conns, 2000);
  await new Promise((r) => setTimeout(r, 100));
  check('close handshake: server sees code 1000 from every raw socket', forced === 0 && srv.closes.filter((c) => c === 1000).length === 4, srv.closes.join(','));
  pub.close();
  for (const r of refs) r.ws.terminate();
  srv.close();
}

export async function selfcheck(): Promise<void> {
  parserCheck();
  await liveCheck();
  console.log(`selfcheck: ${passed} passed, ${failed} failed`);
  if (failed > 0) process.exitCode = 1;
}
