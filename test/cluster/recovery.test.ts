// Recovery on two nodes over Redis: sockets on one node, publishes through the other; the shared
// cases of test/recovery/recovery.cases.ts (positions assigned by the publish scripts, carried on
// the bus, history read from Redis and fenced against the bus).
import { describe, before, after } from 'node:test';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import type { GatewayProcess } from '../helpers/gateway.js';
import { signingKey } from '../helpers/jwt.js';
import { HISTORY, recoveryCases } from '../recovery/recovery.cases.js';

const hs = await signingKey('HS256');

describe('recovery on two nodes over Redis', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster(2, { WS_AUTH_MODE: 'jwt', WS_JWT_SECRET: hs.configured, WS_MSG_EXPIRE: '1m', WS_HISTORY_SIZE: String(HISTORY) });
  });
  after(() => cluster.close());
  recoveryCases(hs, () => {
    const [pub, sub] = cluster.nodes as [GatewayProcess, GatewayProcess];
    return { pub, sub };
  });
});
