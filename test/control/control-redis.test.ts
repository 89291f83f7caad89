// The Redis control plane against the ControlPlane contract: two gateway processes on the shared
// Redis under a prefix of this run's own. A node that does not answer is in test/cluster/control.test.ts.
import assert from 'node:assert/strict';
import { startCluster } from '../helpers/cluster.js';
import { controlContract } from './control.contract.js';

controlContract('Redis (two nodes)', {
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
