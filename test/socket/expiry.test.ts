// The expiry wheel: sockets close at their second (plus leeway), once, in order; removal and
// rescheduling (a refresh) move them; no timer per socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createExpiryWheel } from '../../src/socket/expiry.js';
import type { Socket } from '../../src/socket/connection.js';

/** A stand-in socket: the wheel touches only getUserData().closeAt. */
const fakeSocket = (name: string): Socket => {
  const data = { closeAt: 0, name };
  return { getUserData: () => data } as unknown as Socket;
};
const nameOf = (ws: Socket): string => (ws.getUserData() as unknown as { name: string }).name;

test('sockets close at exp + leeway, each once, and not before', () => {
  let now = 1_000;
  const expired: string[] = [];
  const wheel = createExpiryWheel({ leewayS: 2, expire: (ws) => expired.push(nameOf(ws)), now: () => now });
  const [a, b, c] = [fakeSocket('a'), fakeSocket('b'), fakeSocket('c')];
  wheel.schedule(a, 1_001);
  wheel.schedule(b, 1_005);
  wheel.schedule(c, 1_001);
  assert.equal(wheel.size, 3);
  wheel.sweep(1_002);
  assert.deepEqual(expired, [], 'within the leeway');
  wheel.sweep(1_003);
  assert.deepEqual(expired.sort(), ['a', 'c']);
  wheel.sweep(1_003);
  assert.equal(expired.length, 2, 'swept once');
  now = 1_010;
  wheel.sweep(1_010);
  assert.deepEqual(expired.sort(), ['a', 'b', 'c']);
  assert.equal(wheel.size, 0);
  wheel.stop();
});

test('a reschedule (refresh) moves a socket; remove forgets it; a past expiry goes to the next sweep', () => {
  const expired: string[] = [];
  const wheel = createExpiryWheel({ leewayS: 0, expire: (ws) => expired.push(nameOf(ws)), now: () => 100 });
  const [a, b, c] = [fakeSocket('a'), fakeSocket('b'), fakeSocket('c')];
  wheel.schedule(a, 102);
  wheel.schedule(b, 102);
  wheel.schedule(c, 50);
  wheel.schedule(a, 110);
  wheel.remove(b);
  assert.equal(b.getUserData().closeAt, 0);
  wheel.sweep(103);
  assert.deepEqual(expired, ['c'], 'a moved, b removed, c past due');
  wheel.sweep(110);
  assert.deepEqual(expired, ['c', 'a']);
  assert.equal(wheel.size, 0);
  wheel.stop();
});

test('a clock jump forwards sweeps what it skipped; backwards waits', () => {
  const expired: string[] = [];
  const wheel = createExpiryWheel({ leewayS: 0, expire: (ws) => expired.push(nameOf(ws)), now: () => 0 });
  wheel.schedule(fakeSocket('far'), 5_000_000);
  wheel.schedule(fakeSocket('near'), 10);
  wheel.sweep(5);
  wheel.sweep(1);
  assert.deepEqual(expired, []);
  wheel.sweep(10_000_000);
  assert.deepEqual(expired, ['near', 'far']);
  wheel.stop();
});
