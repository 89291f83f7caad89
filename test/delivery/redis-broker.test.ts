// The Redis broker against the Broker contract: two gateway processes on the shared Redis under a
// prefix of this run's own (startCluster), so every scenario publishes on a socket's own node and on
// the other. What only Redis has (a node's death, Redis going away, Cluster, Sentinel, TLS) is tested
// in test/cluster.
import assert from 'node:assert/strict';
import { startCluster } from '../helpers/cluster.js';
import { brokerContract } from './broker.contract.js';

brokerContract('Redis (two nodes)', {
  deliveredCountsPerKey: true,
  async start(env) {
    const cluster = await startCluster(2, env);
    return {
      nodes: cluster.nodes,
      async close() {
        try {
          for (const node of cluster.nodes) assert.equal(await node.stop(), 0, `node ${node.port} exits 0`);
        } finally {
          await cluster.close();
        }
      },
    };
  },
});
