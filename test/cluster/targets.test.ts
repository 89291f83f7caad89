// Publish targets, exclude_connection, claim filters and binary publishes, against the
// real gateway on one node (memory) and on two nodes over Redis (published on one, sockets on the
// other). "Nothing arrived" is shown by a later marker arriving first: per socket, frames arrive in
// publish order (one node: one tick; two nodes: the bus delivers in the order Redis ran them).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { eventually, startCluster, synced, type TestCluster } from '../helpers/cluster.js';
import { startGateway, type GatewayProcess } from '../helpers/gateway.js';
import { nowS, sign, signingKey } from '../helpers/jwt.js';

const hs = await signingKey('HS256');
const JWT_ENV = { WS_AUTH_MODE: 'jwt', WS_JWT_SECRET: hs.configured, WS_LOG_LEVEL: 'debug' };

/** A Goctopus socket that records every frame: text frames parsed, binary frames as bytes. */
interface RawSocket {
  readonly ws: WebSocket;
  readonly frames: Array<{ binary: false; id: string; payload: unknown } | { binary: true; bytes: Buffer }>;
  /** The payloads of text frames and the bytes (as text) of binary ones, in arrival order. */
  seen(): unknown[];
  waitFor(count: number): Promise<void>;
  close(): Promise<void>;
}

function rawSocket(url: string, protocols: string[] = []): Promise<RawSocket> {
  const ws = new WebSocket(url, protocols);
  const frames: RawSocket['frames'] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    frames.push(isBinary ? { binary: true, bytes: Buffer.from(data) } : { binary: false, ...(JSON.parse(data.toString()) as { id: string; payload: unknown; type?: string; topic?: string }) });
    for (const w of waiters.filter((x) => frames.length >= x.count)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const socket: RawSocket = {
    ws, frames,
    seen: () => frames.map((f) => (f.binary ? `bytes:${f.bytes.toString('latin1')}` : f.payload)),
    waitFor(count) {
      if (frames.length >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`expected ${count} frames, got ${JSON.stringify(socket.seen())}`)), 5_000);
        waiters.push({ count, resolve: () => { clearTimeout(timer); resolve(); } });
      });
    },
    close: () => new Promise((resolve) => {
      if (ws.readyState === WebSocket.CLOSED) return resolve();
      ws.once('close', () => resolve());
      ws.close();
    }),
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(socket));
    ws.once('error', reject);
  });
}

interface Setup {
  /** Where publishes go, and where sockets connect. */
  readonly publisher: GatewayProcess;
  readonly sockets: GatewayProcess;
  close(): Promise<void>;
}

function suite(name: string, setUp: () => Promise<Setup>): void {
  describe(name, () => {
    let s: Setup;
    before(async () => { s = await setUp(); });
    after(() => s.close());

    /** A socket for a token with these claims, resolved once it joined (presence, held fetched). */
    const open = async (claims: Record<string, unknown>, protocols: string[] = []): Promise<RawSocket> => {
      const before = synced(s.sockets);
      const socket = await rawSocket(s.sockets.ws(`/ws?token=${await sign(hs, { exp: nowS() + 600, ...claims })}`), protocols);
      await eventually('the socket to join', () => synced(s.sockets) > before);
      return socket;
    };
    const publish = async (body: Record<string, unknown>): Promise<any> => {
      const r = await s.publisher.publish(body);
      assert.equal(r.status, 202, JSON.stringify(r.json));
      return r.json;
    };
    const connectionOf = async (user: string, session?: string): Promise<string> => {
      const r = await s.publisher.request('GET', `/connections?user=${user}${session === undefined ? '' : `&session=${session}`}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.connections.length, 1, r.text);
      return r.json.connections[0].id as string;
    };
    const binary = (query: string, body: string) =>
      s.publisher.request('POST', `/?${query}`, { body, headers: { 'content-type': 'application/octet-stream' } });

    test('user and session targets: a session message reaches that session only, a user message all of them', async () => {
      const one = await open({ sub: 'ann', sid: 's1' });
      const two = await open({ sub: 'ann', sid: 's2' });
      assert.equal((await publish({ user: 'ann', session: 's1', value: 'to s1' })).delivered, 1);
      await publish({ user: 'ann', value: 'to ann' });
      await one.waitFor(2);
      await two.waitFor(1);
      assert.deepEqual(one.seen(), ['to s1', 'to ann']);
      assert.deepEqual(two.seen(), ['to ann']);
      await Promise.all([one.close(), two.close()]);
    });

    test('v2 message frames say where a message came from: user; user and session; a connection message the socket\'s key', async () => {
      const socket = await open({ sub: 'vic', sid: 'tab-1' }, ['octoway.v2']);
      const id = await connectionOf('vic');
      await publish({ user: 'vic', value: 'to user' });
      await publish({ user: 'vic', session: 'tab-1', value: 'to session' });
      await publish({ connection: id, value: 'to connection' });
      await socket.waitFor(4);
      const [welcome, ...messages] = socket.frames.map((f) => (f.binary ? f : { ...f, id: undefined, binary: undefined }));
      assert.equal((welcome as { type?: string }).type, 'welcome');
      assert.deepEqual(messages, [
        { type: 'message', id: undefined, binary: undefined, user: 'vic', payload: 'to user' },
        { type: 'message', id: undefined, binary: undefined, user: 'vic', session: 'tab-1', payload: 'to session' },
        { type: 'message', id: undefined, binary: undefined, key: 'vic', payload: 'to connection' },
      ]);
      await socket.close();
    });

    test('a socket under a key and its user gets a message to both once', async () => {
      // A JWT's sub is also its key (jwt-grants.ts): 'cat' is a key and a user here.
      const socket = await open({ sub: 'cat' });
      // (Over Redis, `delivered` adds up each address's sockets: the frames below are what counts.)
      await publish({ keys: ['cat'], user: 'cat', value: 'both' });
      await publish({ key: 'cat', value: 'marker' });
      await socket.waitFor(2);
      assert.deepEqual(socket.seen(), ['both', 'marker']);
      await socket.close();
    });

    test('a user message is held while none of their sockets is open, then delivered', async () => {
      const held = await publish({ user: 'bob', value: 'while away' });
      assert.deepEqual([held.delivered, held.held], [0, 1]);
      const socket = await open({ sub: 'bob' });
      await socket.waitFor(1);
      assert.deepEqual(socket.seen(), ['while away']);
      await socket.close();
    });

    test('a connection target reaches that socket only; to a gone socket it is dropped and counted', async () => {
      const mine = await open({ sub: 'dan', keys: ['room-d'] });
      const other = await open({ sub: 'dee', keys: ['room-d'] });
      const id = await connectionOf('dan');
      assert.equal((await publish({ connection: id, value: 'just you' })).delivered, 1);
      await publish({ key: 'room-d', value: 'marker' });
      await mine.waitFor(2);
      await other.waitFor(1);
      assert.deepEqual(mine.seen(), ['just you', 'marker']);
      assert.deepEqual(other.seen(), ['marker']);
      // Under the key and the connection: once.
      assert.equal((await publish({ key: 'room-d', connection: id, value: 'once' })).delivered, 2);
      await mine.waitFor(3);
      await mine.close();
      await eventually('dan to be gone', async () => (await s.publisher.request('GET', '/connections?user=dan')).json.connections.length === 0);
      const gone = await publish({ connection: id, value: 'too late' });
      assert.deepEqual([gone.delivered, gone.held, gone.dropped], [0, 0, 1]);
      const metrics = await s.publisher.request('GET', '/metrics');
      assert.match(metrics.text, /^octoway_messages_connection_gone_total 1$/m);
      await publish({ key: 'room-d', value: 'marker 2' });
      await other.waitFor(3);
      assert.deepEqual(other.seen(), ['marker', 'once', 'marker 2']);
      await other.close();
    });

    test('exclude_connection: everyone but that socket', async () => {
      const sender = await open({ sub: 'eve', keys: ['room-e'] });
      const rest = await open({ sub: 'ed', keys: ['room-e'] });
      const id = await connectionOf('eve');
      await publish({ key: 'room-e', exclude_connection: id, value: 'to others' });
      await publish({ key: 'room-e', value: 'marker' });
      await sender.waitFor(1);
      await rest.waitFor(2);
      assert.deepEqual(sender.seen(), ['marker']);
      assert.deepEqual(rest.seen(), ['to others', 'marker']);
      await Promise.all([sender.close(), rest.close()]);
    });

    test('filters live: only sockets whose claims match receive', async () => {
      const admin = await open({ sub: 'fay', keys: ['room-f'], role: 'admin', teams: ['red', 'blue'] });
      const plain = await open({ sub: 'fred', keys: ['room-f'], role: 'user', teams: ['green'] });
      await publish({ key: 'room-f', filter: { include: { role: 'admin' } }, value: 'admins' });
      await publish({ key: 'room-f', filter: { include: { teams: ['green', 'pink'] } }, value: 'green' });
      // Matching none of the open sockets: written to none, and not held (they are there).
      const none = await publish({ key: 'room-f', filter: { exclude: { role: 'admin' }, include: { teams: 'red' } }, value: 'nobody' });
      assert.equal(none.held, 0);
      await publish({ key: 'room-f', value: 'marker' });
      await admin.waitFor(2);
      await plain.waitFor(2);
      assert.deepEqual(admin.seen(), ['admins', 'marker']);
      assert.deepEqual(plain.seen(), ['green', 'marker']);
      const bad = await s.publisher.publish({ key: 'room-f', filter: { include: { '': 1 } }, value: 'x' });
      assert.deepEqual([bad.status, bad.json.error], [400, 'INVALID_FILTER']);
      await Promise.all([admin.close(), plain.close()]);
    });

    test('filters held: a non-matching joiner gets nothing and it stays held; a matching joiner gets it', async () => {
      const held = await publish({ user: 'gil', filter: { include: { role: 'admin' } }, value: 'for admins' });
      assert.equal(held.held, 1);
      await publish({ user: 'gil', value: 'for anyone' });
      const plain = await open({ sub: 'gil', role: 'user' });
      await publish({ user: 'gil', value: 'marker' });
      await plain.waitFor(2);
      assert.deepEqual(plain.seen(), ['for anyone', 'marker']);
      await plain.close();
      await eventually('gil to be gone', async () => (await s.publisher.request('GET', '/connections?user=gil')).json.connections.length === 0);
      const admin = await open({ sub: 'gil', role: 'admin' });
      await admin.waitFor(1);
      assert.deepEqual(admin.seen(), ['for admins']);
      await admin.close();
    });

    test('v2 sockets: a filtered topic message in v2 framing to the matching subscriber, a binary one as bytes', async () => {
      const reader = await open({ sub: 'ivy', read: ['news'], role: 'editor' }, ['octoway.v2']);
      const other = await open({ sub: 'ian', read: ['news'], role: 'reader' }, ['octoway.v2']);
      for (const socket of [reader, other]) {
        socket.ws.send(JSON.stringify({ type: 'subscribe', topic: 'news', ref: 1 }));
        await socket.waitFor(2); // welcome, subscribed
      }
      await publish({ topic: 'news', filter: { include: { role: 'editor' } }, value: 'editors' });
      assert.equal((await binary('topic=news', 'b1n')).status, 202);
      await publish({ topic: 'news', value: 'marker' });
      await reader.waitFor(5);
      await other.waitFor(4);
      const tail = (socket: RawSocket) => socket.frames.slice(2).map((f) => (f.binary ? `bytes:${f.bytes.toString()}` : `${(f as { type?: string }).type}:${(f as { topic?: string }).topic}:${String(f.payload)}`));
      assert.deepEqual(tail(reader), ['message:news:editors', 'bytes:b1n', 'message:news:marker']);
      assert.deepEqual(tail(other), ['bytes:b1n', 'message:news:marker']);
      await Promise.all([reader.close(), other.close()]);
    });

    test('binary: the body as a binary frame, live and held, address in the query', async () => {
      const socket = await open({ sub: 'hal' });
      const live = await binary('key=hal', 'raw\u0001bytes');
      assert.equal(live.status, 202, live.text);
      assert.equal(live.json.delivered, 1);
      await socket.waitFor(1);
      assert.deepEqual(socket.seen(), ['bytes:raw\u0001bytes']);
      assert.equal((await binary('user=hal&message_id=b-1', 'to user')).json.delivered, 1);
      await socket.waitFor(2);
      await socket.close();

      const held = await binary('user=hank&expire=1m', 'kept');
      assert.equal(held.json.held, 1, held.text);
      const later = await open({ sub: 'hank' });
      await later.waitFor(1);
      assert.equal(later.frames[0]?.binary, true);
      assert.deepEqual(later.seen(), ['bytes:kept']);
      await later.close();
      const refused = await binary('', 'nowhere');
      assert.deepEqual([refused.status, refused.json.error], [400, 'MISSING_KEY']);
    });
  });
}

suite('one node', async () => {
  const gw = await startGateway(JWT_ENV);
  return { publisher: gw, sockets: gw, close: async () => { await gw.stop(); } };
});

suite('two nodes over Redis: published on one, sockets on the other', async () => {
  const cluster: TestCluster = await startCluster(2, JWT_ENV);
  const [a, b] = cluster.nodes as [GatewayProcess, GatewayProcess];
  return { publisher: a, sockets: b, close: () => cluster.close() };
});
