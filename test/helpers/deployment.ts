// The two deployments the contract suites run against: one gateway process with its auth backend
// (no Redis), or two nodes on the shared Redis under a prefix of this run's own. Closing checks that
// every process exits 0.
import assert from 'node:assert/strict';
import { startAuthBackend } from './auth-backend.js';
import { startCluster } from './cluster.js';
import { startGateway, type GatewayProcess } from './gateway.js';

export interface Deployment {
  readonly nodes: readonly GatewayProcess[];
  close(): Promise<void>;
}

export async function oneNode(env: Record<string, string>): Promise<Deployment> {
  const auth = await startAuthBackend();
  const gw = await startGateway({ WS_AUTH_URL: auth.url, ...env }).catch(async (err: unknown) => {
    await auth.close();
    throw err;
  });
  return {
    nodes: [gw],
    async close() {
      try {
        assert.equal(await gw.stop(), 0, 'the gateway exits 0');
      } finally {
        await auth.close();
      }
    },
  };
}

export async function twoNodes(env: Record<string, string>): Promise<Deployment> {
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
}
