// Property: generated inbound frames (text, binary, any JSON, acknowledgement-shaped frames with odd
// ids, the other key's message ids among them) sent on two open sockets under different keys of the
// real gateway in at-least-once mode. Nothing crashes or closes a socket, nothing is echoed, no
// acknowledgement reaches another key's messages, and afterwards each socket receives exactly the
// messages of its own key. Fixed seed and bounded runs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import WebSocket from 'ws';
import { startAuthBackend, type AuthBackend } from '../helpers/auth-backend.js';
import { startGateway, type GatewayProcess } from '../helpers/gateway.js';
import { connect, type TestSocket } from '../helpers/client.js';

const SEED = 1008;
const RUNS = 1000;
/** Stands for the id of the other socket's held message, filled in when the frame is sent. */
const OTHER = Symbol('other key message id');

const ackId = fc.oneof(
  fc.constant(OTHER),
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.object({ maxDepth: 1 }),
);

type Payload = string | Uint8Array | { readonly ack: unknown };

const payload: fc.Arbitrary<Payload> = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc.uint8Array({ maxLength: 700 }),
  fc.json({ maxDepth: 3 }),
  fc.record({ ack: ackId }),
  fc.constantFrom('{"id":"', '{}', 'null', '[]', '{"id":{"toString":1}}', '{"__proto__":{"id":"x"}}', `{"id":"${'x'.repeat(600)}"}`),
);

const frames = fc.array(fc.record({ from: fc.constantFrom('alpha', 'beta'), payload }), { minLength: 1, maxLength: 5 });

let auth: AuthBackend;
let gw: GatewayProcess;
const sockets = new Map<string, TestSocket>();
/** Per key, the id of the message held for it before the fuzz. */
const heldIds = new Map<string, string>();
const other = (key: string): string => (key === 'alpha' ? 'beta' : 'alpha');

async function setUp(): Promise<void> {
  // The rate bound is for floods (test/gateway/inbound-limits.test.ts); here it must not interfere.
  gw = await startGateway({ WS_AUTH_URL: auth.url, WS_DELIVERY: 'at-least-once', WS_MAX_INBOUND_RATE: '100000' });
  for (const key of ['alpha', 'beta']) {
    const socket = await connect(gw.ws(`/ws?email=${key}`));
    sockets.set(key, socket);
    heldIds.set(key, (await gw.publish({ key, value: `${key}-held` })).json.id as string);
    await socket.waitForFrames(1);
  }
}

/** A failed run leaves the gateway dead or a socket closed; the runs after it (fast-check's
 * shrinking among them) start from a fresh gateway, so each is judged on its own frames. */
async function ensureUp(): Promise<void> {
  const dead = gw.child.exitCode !== null || gw.child.signalCode !== null;
  if (!dead && [...sockets.values()].every((s) => s.ws.readyState === WebSocket.OPEN)) return;
  for (const socket of sockets.values()) socket.ws.terminate();
  await gw.stop('SIGKILL');
  await setUp();
}

before(async () => {
  auth = await startAuthBackend();
  await setUp();
});
after(async () => {
  try {
    for (const socket of sockets.values()) await socket.close();
    assert.equal(await gw.stop(), 0, `gateway exit: ${gw.child.signalCode}`);
  } finally {
    await auth.close();
  }
});

function send(from: string, p: Payload): void {
  const ws = sockets.get(from)!.ws;
  if (typeof p === 'string' || p instanceof Uint8Array) return ws.send(p);
  ws.send(JSON.stringify({ id: p.ack === OTHER ? heldIds.get(other(from)) : p.ack }));
}

/** Resolves once the gateway answers a ping on `key`'s socket: uWS reads a socket's frames in order
 * and answers a ping after calling the message handler for every frame before it, so the gateway
 * has handled them all and is still up with the socket open. Rejects if the socket closes first. */
function roundTrip(key: string): Promise<void> {
  const { ws } = sockets.get(key)!;
  if (ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error(`${key}'s socket is not open`));
  return new Promise((resolve, reject) => {
    const onPong = (): void => { ws.off('close', onClose); resolve(); };
    const onClose = (code: number): void => {
      ws.off('pong', onPong);
      reject(new Error(`${key}'s socket closed with ${code} (gateway exit ${gw.child.exitCode}, signal ${gw.child.signalCode})`));
    };
    ws.once('pong', onPong);
    ws.once('close', onClose);
    ws.ping();
  });
}

/** Waits until `key`'s socket has acknowledged its own latest message: frames on one socket are
 * handled in order, so every frame it sent before has been handled too. */
async function drained(key: string): Promise<void> {
  const socket = sockets.get(key)!;
  const last = socket.frames[socket.frames.length - 1]!;
  socket.send({ id: last.id });
  const deadline = Date.now() + 5_000;
  let ids: string[] = [];
  do ids = ((await gw.request('GET', `/?key=${key}`)).json as Array<{ id: string }>).map((m) => m.id);
  while (ids.includes(last.id) && Date.now() < deadline);
  assert.ok(!ids.includes(last.id), `${key}'s own acknowledgement was not applied`);
  // The other socket's acknowledgements of this key's held message changed nothing.
  assert.ok(ids.includes(heldIds.get(key)!), `${key}'s held message was removed by the other socket`);
}

test(`${RUNS} runs of generated inbound frames: no crash, no echo, nothing crosses keys`, async () => {
  await fc.assert(
    fc.asyncProperty(frames, async (batch) => {
      await ensureUp();
      for (const { from, payload: p } of batch) send(from, p);
      // A run fails for its own frames, so fast-check can shrink to the one that breaks the gateway.
      for (const key of sockets.keys()) await roundTrip(key);
    }),
    { seed: SEED, numRuns: RUNS },
  );
  for (const key of ['alpha', 'beta']) {
    assert.equal((await gw.publish({ key, value: `${key}-after` })).status, 202);
    await sockets.get(key)!.waitForFrames(2);
  }
  for (const key of ['alpha', 'beta']) await drained(key);
  for (const [key, socket] of sockets) {
    assert.equal(socket.ws.readyState, WebSocket.OPEN, `${key}'s socket was closed`);
    assert.deepEqual(socket.frames.map((f) => f.payload), [`${key}-held`, `${key}-after`]);
  }
});
