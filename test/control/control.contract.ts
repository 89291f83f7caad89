// The ControlPlane contract (src/control/control.ts), run through the real gateway against each
// implementation: control-memory.test.ts (one node) and control-redis.test.ts (two nodes on one
// Redis prefix). Every scenario opens sockets on every node and asks from every node in turn, so on
// Redis it covers sockets on the asking node and on the other; the answers must be the same.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type TestSocket } from '../helpers/client.js';
import { eventually, openSocket, synced } from '../helpers/cluster.js';
import type { GatewayProcess } from '../helpers/gateway.js';
import { nowS, sign, signingKey, type SigningKey } from '../helpers/jwt.js';
import { connectV2 } from '../helpers/v2.js';
import type { Deployment } from '../helpers/deployment.js';

export interface ControlContractOptions {
  /** Starts the nodes with `env` added (the JWT settings the user targets need). */
  start(env: Record<string, string>): Promise<Deployment>;
}

interface View { id: string; node: string; user: string | null; session: string | null; keys: string[]; topics: string[]; connected_at: number; last_seen: number }

export function controlContract(name: string, options: ControlContractOptions): void {
  describe(`ControlPlane contract: ${name}`, () => {
    let deployment: Deployment | undefined;
    let key: SigningKey;
    before(async () => {
      key = await signingKey('HS256');
      deployment = await options.start({ WS_AUTH_MODE: 'forward,jwt', WS_JWT_SECRET: key.configured });
    });
    after(() => deployment?.close());
    /** Nodes by index, wrapping: node(0) and node(1) are the same node on one node. */
    const node = (i: number): GatewayProcess => {
      const all = deployment?.nodes ?? [];
      return all[i % all.length] as GatewayProcess;
    };
    const count = (): number => deployment?.nodes.length ?? 0;
    const openUser = async (on: GatewayProcess, sub: string, sid: string): Promise<TestSocket> => {
      const before = synced(on);
      const token = await sign(key, { sub, sid, exp: nowS() + 600 });
      const socket = await connect(on.ws(`/ws?token=${token}`));
      await eventually('the JWT socket to join', () => synced(on) > before);
      return socket;
    };
    const post = (on: GatewayProcess, body: unknown) =>
      on.request('POST', '/disconnect', { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

    test('GET /presence and GET /connections see the sockets of every node, asked from any node', async () => {
      const sockets = [await openSocket(node(0), 'seen'), await openSocket(node(1), 'seen'), await openSocket(node(1), 'other')];
      for (const asker of [node(0), node(1)]) {
        const presence = await asker.request('GET', '/presence?key=seen');
        assert.equal(presence.status, 200, presence.text);
        assert.deepEqual(presence.json, { connections: 2, nodes: count(), unanswered: 0 });
        const listed = await asker.request('GET', '/connections?key=seen');
        assert.equal(listed.status, 200, listed.text);
        const views = listed.json.connections as View[];
        assert.equal(views.length, 2);
        assert.equal(listed.json.cursor, null);
        assert.deepEqual([listed.json.nodes, listed.json.unanswered], [count(), 0]);
        assert.equal(new Set(views.map((v) => v.node)).size, count(), 'each node lists its own socket under its own node id');
        for (const v of views) {
          assert.ok(v.id.startsWith(`${v.node}-`), v.id);
          assert.deepEqual([v.user, v.session, v.keys, v.topics], [null, null, ['seen'], []]);
          assert.ok(Math.abs(v.connected_at - nowS()) <= 5, `connected_at ${v.connected_at} is about now`);
          assert.ok(v.last_seen >= v.connected_at);
        }
      }
      assert.deepEqual((await node(0).request('GET', '/presence?key=nobody')).json, { connections: 0, nodes: count(), unanswered: 0 });
      await Promise.all(sockets.map((s) => s.close()));
    });

    test('POST /disconnect by key closes its sockets on every node with the code and reason asked, and counts them', async () => {
      const doomed = [await openSocket(node(0), 'doomed'), await openSocket(node(1), 'doomed'), await openSocket(node(1), 'doomed')];
      const spared = await openSocket(node(0), 'spared');
      const r = await post(node(1), { key: 'doomed', code: 4100, reason: 'maintenance' });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { closed: 3, nodes: count(), unanswered: 0 });
      assert.deepEqual(await Promise.all(doomed.map((s) => s.closed)), [4100, 4100, 4100]);
      assert.equal((await node(1).publish({ key: 'spared', value: 'still here' })).json.delivered, 1);
      await spared.waitForFrames(1);
      // Nothing left to close: an answer of 0, not an error.
      assert.deepEqual((await post(node(0), { keys: ['doomed', 'ghost'] })).json, { closed: 0, nodes: count(), unanswered: 0 });
      await spared.close();
    });

    test('a connection id target closes that one socket, wherever it is; the default code is 4002', async () => {
      const first = await openSocket(node(0), 'twin-a');
      const second = await openSocket(node(1), 'twin-b');
      const [target] = (await node(0).request('GET', '/connections?key=twin-b')).json.connections as View[];
      assert.ok(target !== undefined);
      const listedOne = await node(0).request('GET', `/connections?connection=${encodeURIComponent(target.id)}`);
      assert.deepEqual((listedOne.json.connections as View[]).map((v) => [v.id, v.keys]), [[target.id, ['twin-b']]]);
      const r = await post(node(0), { connection: target.id });
      assert.deepEqual(r.json, { closed: 1, nodes: count(), unanswered: 0 });
      assert.equal(await second.closed, 4002);
      assert.equal((await node(1).publish({ key: 'twin-a', value: 'still here' })).json.delivered, 1);
      await first.waitForFrames(1);
      assert.deepEqual((await post(node(1), { connection: target.id })).json.closed, 0, 'gone: nothing to close');
      await first.close();
    });

    test('a user target reaches every session of the user on every node; with a session, that session only', async () => {
      const a1 = await openUser(node(0), 'alice', 's1');
      const a2 = await openUser(node(1), 'alice', 's2');
      const bob = await openUser(node(0), 'bob', 's1');
      const listed = (await node(1).request('GET', '/connections?user=alice')).json.connections as View[];
      assert.deepEqual(listed.map((v) => [v.user, v.session, v.keys]).sort(), [['alice', 's1', ['alice']], ['alice', 's2', ['alice']]]);
      assert.deepEqual((await node(0).request('GET', '/connections?user=alice&session=s2')).json.connections.map((v: View) => v.session), ['s2']);
      // GET /presence takes the same targets as GET /connections.
      const presence = async (query: string) => (await node(0).request('GET', `/presence?${query}`)).json;
      assert.deepEqual(await presence('user=alice'), { connections: 2, nodes: count(), unanswered: 0 });
      assert.deepEqual(await presence('user=alice&session=s2'), { connections: 1, nodes: count(), unanswered: 0 });
      assert.deepEqual(await presence(`connection=${listed[0]?.id}`), { connections: 1, nodes: count(), unanswered: 0 });
      assert.deepEqual(await presence('user=nobody'), { connections: 0, nodes: count(), unanswered: 0 });
      assert.deepEqual((await post(node(0), { user: 'alice', session: 's2', code: 4500 })).json.closed, 1);
      assert.equal(await a2.closed, 4500);
      assert.deepEqual((await post(node(1), { user: 'alice' })).json.closed, 1);
      assert.equal(await a1.closed, 4002);
      assert.equal((await node(0).request('GET', '/connections?user=bob')).json.connections.length, 1);
      await bob.close();
    });

    test('drop_held removes what is held for the keys too, and says how many', async () => {
      assert.equal((await node(0).publish({ key: 'offline', value: 'waiting', expire: '1h' })).json.held, 1);
      const r = await post(node(1), { key: 'offline', drop_held: true });
      assert.deepEqual(r.json, { closed: 0, nodes: count(), unanswered: 0, dropped: 1 });
      assert.deepEqual((await node(0).request('GET', '/?key=offline')).json, []);
      assert.deepEqual((await post(node(0), { user: 'nobody-online', session: 's9', drop_held: true })).json, { closed: 0, nodes: count(), unanswered: 0, dropped: 0 });
    });

    test('messages held for a user and their sessions: GET /?user=U[&session=S] lists them; drop_held on the user drops the sessions\' too', async () => {
      const hold = async (body: Record<string, unknown>) => assert.equal((await node(0).publish({ expire: '1h', ...body })).json.held, 1);
      await hold({ user: 'zed', value: 'to zed' });
      await hold({ user: 'zed', session: 't1', value: 'to t1' });
      await hold({ user: 'zed', session: 't2', value: 'to t2' });
      await hold({ user: 'zedd', session: 't1', value: 'another user' });
      const listed = await node(1).request('GET', '/?user=zed');
      assert.equal(listed.status, 200, listed.text);
      assert.deepEqual(listed.json.map((m: { user: string; session: string | null; payload: unknown }) => [m.user, m.session, m.payload]),
        [['zed', null, 'to zed'], ['zed', 't1', 'to t1'], ['zed', 't2', 'to t2']]);
      assert.deepEqual((await node(1).request('GET', '/?user=zed&session=t2')).json.map((m: { payload: unknown }) => m.payload), ['to t2']);
      assert.equal((await node(1).request('GET', '/?session=t2')).status, 400);
      assert.deepEqual((await node(0).request('GET', '/')).json, [], 'GET / lists keys only');
      assert.deepEqual((await post(node(1), { user: 'zed', drop_held: true })).json, { closed: 0, nodes: count(), unanswered: 0, dropped: 3 });
      assert.deepEqual((await node(0).request('GET', '/?user=zed')).json, []);
      // Another user whose name starts with this one's keeps theirs.
      assert.deepEqual((await node(0).request('GET', '/?user=zedd&session=t1')).json.map((m: { payload: unknown }) => m.payload), ['another user']);
      assert.equal((await post(node(0), { user: 'zedd', session: 't1', drop_held: true })).json.dropped, 1);
    });

    test('GET /connections pages through every socket with a cursor, each once, at most `limit` a page', async () => {
      const sockets: TestSocket[] = [];
      for (let i = 0; i < 5; i++) sockets.push(await openSocket(node(i), 'crowd'));
      const seen: string[] = [];
      let cursor: string | null = '';
      let pages = 0;
      while (cursor !== null) {
        const r = await node(pages).request('GET', `/connections?key=crowd&limit=2${cursor === '' ? '' : `&cursor=${cursor}`}`);
        assert.equal(r.status, 200, r.text);
        assert.ok(r.json.connections.length <= 2);
        seen.push(...r.json.connections.map((v: View) => v.id));
        cursor = r.json.cursor as string | null;
        pages++;
      }
      assert.equal(pages, 3);
      assert.equal(new Set(seen).size, 5, 'every socket once');
      assert.deepEqual(seen, [...seen].sort(), 'in id order');
      await Promise.all(sockets.map((s) => s.close()));
    });

    test('last_seen moves with the frames a socket sends', async () => {
      const socket = await openSocket(node(1), 'chatty');
      await eventually('last_seen to pass connected_at', async () => {
        socket.send({ type: 'noop' });
        const [view] = (await node(0).request('GET', '/connections?key=chatty')).json.connections as View[];
        return view !== undefined && view.last_seen > view.connected_at;
      }, 5_000);
      await socket.close();
    });

    test('bad requests get a stable code and close nothing', async () => {
      const socket = await openSocket(node(0), 'kept');
      const cases: Array<[unknown, string]> = [
        [{}, 'INVALID_TARGET'],
        [{ key: 'kept', user: 'x' }, 'INVALID_TARGET'],
        [{ key: 'kept', session: 's' }, 'INVALID_TARGET'],
        [{ key: '' }, 'INVALID_TARGET'],
        [{ keys: [] }, 'INVALID_TARGET'],
        [{ key: 'kept', code: 3000 }, 'INVALID_CLOSE_CODE'],
        [{ key: 'kept', code: 1001 }, 'INVALID_CLOSE_CODE'],
        [{ key: 'kept', code: 4000.5 }, 'INVALID_CLOSE_CODE'],
        [{ key: 'kept', reason: 'é'.repeat(62) }, 'INVALID_CLOSE_REASON'],
        [{ key: 'kept', drop_held: 'yes' }, 'INVALID_MESSAGE'],
        [{ connection: 'x-1', drop_held: true }, 'INVALID_TARGET'],
        [{ key: 'kept', extra: 1 }, 'INVALID_MESSAGE'],
      ];
      for (const [body, code] of cases) {
        const r = await post(node(1), body);
        assert.deepEqual([r.status, r.json.error], [400, code], JSON.stringify(body));
      }
      assert.equal((await node(0).request('POST', '/disconnect', { body: '{' })).json.error, 'INVALID_JSON');
      assert.equal((await node(0).request('GET', '/presence?user=x&limit=1')).json.error, 'INVALID_QUERY');
      assert.equal((await node(0).request('GET', '/connections?key=kept&limit=1001')).json.error, 'INVALID_QUERY');
      assert.equal((await node(0).request('GET', '/connections')).json.error, 'INVALID_TARGET');
      assert.equal((await node(0).request('GET', '/disconnect')).status, 405);
      assert.equal((await node(0).request('POST', '/presence?key=kept', { body: '{}' })).status, 405);
      const anonymous = await node(0).request('POST', '/disconnect', { body: JSON.stringify({ key: 'kept' }), auth: false });
      assert.equal(anonymous.status, 401);
      // A 123-byte reason is the most a close frame carries: accepted.
      assert.equal((await post(node(1), { key: 'nobody', reason: 'r'.repeat(123) })).status, 200);
      assert.equal((await node(1).publish({ key: 'kept', value: 'alive' })).json.delivered, 1);
      await socket.waitForFrames(1);
      await socket.close();
    });

    test('a topic target reaches the v2 sockets subscribed to it on every node, and only them', async () => {
      const subscriber = async (on: GatewayProcess, sub: string) => {
        const token = await sign(key, { sub, topics: ['news'], exp: nowS() + 600 });
        const socket = await connectV2(on.ws(`/ws?token=${token}`));
        assert.equal((await socket.request({ type: 'subscribe', topic: 'news' })).type, 'subscribed');
        return socket;
      };
      const readers = [await subscriber(node(0), 'r1'), await subscriber(node(1), 'r2')];
      const bystander = await openSocket(node(0), 'news'); // a key of the same name: another namespace
      for (const asker of [node(0), node(1)]) {
        assert.deepEqual((await asker.request('GET', '/presence?topic=news')).json, { connections: 2, nodes: count(), unanswered: 0 });
        const views = (await asker.request('GET', '/connections?topic=news')).json.connections as View[];
        assert.deepEqual(views.map((v) => [v.user, v.topics]).sort(), [['r1', ['news']], ['r2', ['news']]]);
      }
      const r = await post(node(1), { topic: 'news', code: 4100, reason: 'topic closed' });
      assert.deepEqual(r.json, { closed: 2, nodes: count(), unanswered: 0 });
      assert.deepEqual((await Promise.all(readers.map((s) => s.closed))).map((c) => c.code), [4100, 4100]);
      assert.equal((await node(1).publish({ key: 'news', value: 'the key socket stays' })).json.delivered, 1);
      await bystander.close();
    });
  });
}
