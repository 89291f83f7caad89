// Recovery on one node (memory history): the shared cases of test/recovery/recovery.cases.ts.
import { describe } from 'node:test';
import { gatewayForSuite } from '../helpers/gateway.js';
import { signingKey } from '../helpers/jwt.js';
import { HISTORY, recoveryCases } from '../recovery/recovery.cases.js';

const hs = await signingKey('HS256');

describe('recovery on one node', () => {
  const suite = gatewayForSuite({ WS_AUTH_MODE: 'jwt', WS_JWT_SECRET: hs.configured, WS_MSG_EXPIRE: '1m', WS_HISTORY_SIZE: String(HISTORY) });
  recoveryCases(hs, () => ({ pub: suite.gw, sub: suite.gw }));
});
