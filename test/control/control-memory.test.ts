// The memory control plane against the ControlPlane contract: one gateway process, no Redis.
import assert from 'node:assert/strict';
import { startAuthBackend } from '../helpers/auth-backend.js';
import { startGateway } from '../helpers/gateway.js';
import { controlContract } from './control.contract.js';

controlContract('memory (one node)', {
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
