// dSock claims and Octoway tickets never open each other's sockets: the listener's claims
// are a ticket store of its own, apart from the main port's (WS_AUTH_MODE=ticket), even for one id.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type GatewayProcess } from '../../helpers/gateway.js';
import { refusal } from '../../helpers/client.js';
import { listenerPort } from '../../helpers/seed.js';
import { call, dsockSocket, errorBody, rawConnect, TOKEN } from './client.js';

let gw: GatewayProcess;
before(async () => {
  gw = await startGateway({ WS_AUTH_MODE: 'ticket', WS_DSOCK_PORT: '0', WS_DSOCK_TOKEN: TOKEN });
});
after(() => gw.stop());

test('an Octoway ticket does not open a dSock socket, a dSock claim does not open a native one', async () => {
  const port = await listenerPort(gw, 'dsock');
  const made = await gw.request('POST', '/tickets', { body: JSON.stringify({ user: 'u1', id: 'native-ticket-1' }), headers: { 'content-type': 'application/json' } });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  assert.equal((await rawConnect(port, 'claim=native-ticket-1')).body, errorBody('MISSING_CLAIM', 'Could not find claim'));
  assert.equal((await call(`http://127.0.0.1:${port}`, 'POST', '/claim', 'user=u1&id=dsock-claim-1')).status, 200);
  const native = await refusal(`ws://127.0.0.1:${gw.port}/ws?ticket=dsock-claim-1`);
  assert.equal(native.status, 401);
  assert.match(native.body, /TICKET_NOT_FOUND/);
  // Each still opens on its own side, once.
  const socket = await dsockSocket(`ws://127.0.0.1:${port}/connect?claim=dsock-claim-1`);
  await socket.close();
  assert.equal((await gw.request('GET', '/tickets?user=u1')).json.tickets.length, 1);
});
