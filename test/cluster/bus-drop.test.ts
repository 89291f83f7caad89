// Fault injection: one node's bus subscription is killed in Redis (CLIENT KILL of that connection
// only) while messages for its sockets are published through another node (the node paused meanwhile,
// so that they reach the dead subscription rather than racing its withdrawal). Messages sent on the
// bus while it was gone must not be lost: the node withdraws its presence, which promotes what it had
// not written (held), and its sockets fetch them when it has resubscribed. The sockets stay open.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { eventually, openSocket, startCluster, type TestCluster } from '../helpers/cluster.js';
import type { Redis } from 'ioredis';
import type { GatewayProcess } from '../helpers/gateway.js';
import { redisClient } from '../helpers/redis.js';

let cluster: TestCluster;
before(async () => {
  cluster = await startCluster(2);
});
after(() => cluster.close());

const KEYS = Array.from({ length: 5 }, (_, i) => `bus-${i}`);
const BEFORE_DROP = 100;
const AFTER_RECOVERY = 100;
const MAX_PUBLISHES = 3_000;
const BURST = 20;

/** Local ports of the node's connections to the shared Redis (from `ss`, which names the owner pid). */
function redisPortsOf(node: GatewayProcess): Set<string> {
  const out = execFileSync('ss', ['-tnpH', 'dst', '127.0.0.1:6379']).toString();
  const mine = out.split('\n').filter((line) => line.includes(`pid=${node.child.pid},`));
  return new Set(mine.map((line) => line.trim().split(/\s+/)[3]?.split(':').at(-1) ?? ''));
}

/** Kills the node's subscriber connection, and only it, in Redis. */
async function killBus(admin: Redis, ports: ReadonlySet<string>): Promise<void> {
  const bus = (await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub') as string).split('\n')
    .filter((line) => [...ports].some((p) => line.includes(`addr=127.0.0.1:${p} `)));
  assert.equal(bus.length, 1, 'exactly one subscriber connection of the node');
  const id = /id=(\d+)/.exec(bus[0] as string)?.[1] as string;
  assert.equal(await admin.call('CLIENT', 'KILL', 'ID', id), 1);
}

const lives = (node: GatewayProcess): number => node.logs.filter((l) => l.msg.startsWith('redis delivery live')).length;

test('a node whose bus subscription is killed loses no message answered 202', async () => {
  const [a, b] = cluster.nodes as [GatewayProcess, GatewayProcess];
  const sockets = await Promise.all(KEYS.map((key) => openSocket(b, key)));
  const admin = await redisClient();
  const accepted: string[] = [];
  let dropped = false;
  let afterRecovery = 0;
  try {
    const livesBefore = lives(b);
    const busPorts = redisPortsOf(b);
    for (let n = 0; n < MAX_PUBLISHES && afterRecovery < AFTER_RECOVERY; n++) {
      const key = KEYS[n % KEYS.length] as string;
      const value = `${key}#${n}`;
      if ((await a.publish({ key, value })).status === 202) accepted.push(value);
      if (dropped && lives(b) > livesBefore) afterRecovery++;
      if (n === BEFORE_DROP) {
        dropped = true;
        // Node 2 is paused (SIGSTOP) while its subscription is killed and a burst is published, so
        // the burst goes out on the bus to it, still counted, before it can notice; then it resumes.
        b.child.kill('SIGSTOP');
        try {
          await killBus(admin, busPorts);
          for (let i = 0; i < BURST; i++) {
            const m = { key: KEYS[i % KEYS.length] as string, value: `burst#${i}` };
            if ((await a.publish(m)).status === 202) accepted.push(m.value);
          }
        } finally {
          b.child.kill('SIGCONT');
        }
      }
    }
    assert.ok(afterRecovery > 0, 'node 2 resubscribed within the publishing bound');
    const missing = (): string[] => {
      const got = new Set(sockets.flatMap((s) => s.frames.map((f) => f.payload as string)));
      return accepted.filter((v) => !got.has(v));
    };
    await eventually('every accepted message on its socket', () => missing().length === 0).catch(() => undefined);
    const lost = missing();
    const received = sockets.reduce((sum, s) => sum + s.frames.length, 0);
    console.log(`bus drop: published ${accepted.length} (202), received ${received}, lost ${lost.length}`);
    assert.deepEqual(lost, [], `${lost.length} of ${accepted.length} messages answered 202 were lost`);
  } finally {
    await admin.quit();
    await Promise.all(sockets.map((s) => s.close()));
  }
});
