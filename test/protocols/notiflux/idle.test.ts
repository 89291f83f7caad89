// notiflux's heartbeat on the listener: a silent socket is pinged, then dropped; one that answers
// pings (every WebSocket client does) stays. Takes about 24 s: the timer is uWS's, in whole seconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcp } from 'node:net';
import { startGateway } from '../../helpers/gateway.js';
import { listenerPort, textSocket } from '../../helpers/seed.js';
import { NOTIFLUX_PUBLIC_KEY_B64 } from '../../helpers/notiflux.js';

test('a socket silent for 24 s is pinged after about 16 s, then dropped; an answering one stays open', { timeout: 60_000 }, async () => {
  const gw = await startGateway({ WS_LOGIN: '', WS_PASSWORD: '', WS_NOTIFLUX_PORT: '0', WS_NOTIFLUX_JWT_PUBLIC_KEY_B64: NOTIFLUX_PUBLIC_KEY_B64 });
  try {
    const port = await listenerPort(gw, 'notiflux');
    const answering = await textSocket(`ws://127.0.0.1:${port}/ws`);
    const pinged = new Promise<number>((resolve) => answering.ws.once('ping', () => resolve(Date.now())));
    // A client that upgrades, then never sends a byte (not even a pong).
    const started = Date.now();
    const silent = tcp(port, '127.0.0.1', () => silent.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'));
    let silentPinged = false;
    silent.on('data', (d: Buffer) => { if (d.includes(0x89)) silentPinged = true; });
    await new Promise((resolve) => silent.once('close', resolve));
    const droppedAfter = (Date.now() - started) / 1000;
    assert.ok(silentPinged, 'the silent socket was pinged before it was dropped');
    assert.ok(droppedAfter >= 20 && droppedAfter <= 30, `dropped after ${droppedAfter} s`);
    const pingAfter = ((await pinged) - started) / 1000;
    assert.ok(pingAfter >= 12 && pingAfter <= 20, `first ping after ${pingAfter} s`);
    // The answering socket outlived the silent one.
    assert.equal(answering.ws.readyState, answering.ws.OPEN);
    await answering.close();
  } finally {
    await gw.stop();
  }
});
