// The memory broker against the Broker contract: one gateway process, no Redis.
import assert from 'node:assert/strict';
import { startAuthBackend } from '../helpers/auth-backend.js';
import { startGateway } from '../helpers/gateway.js';
import { brokerContract } from './broker.contract.js';

brokerContract('memory (one node)', {
  deliveredCountsPerKey: false,
  async start(env) {
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
  },
});
