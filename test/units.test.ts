import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parseSize } from '../src/units.js';

test('durations use Go syntax plus days; bare numbers other than 0 are refused', () => {
  assert.equal(parseDuration('300ms'), 300);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('2d'), 172_800_000);
  assert.equal(parseDuration('1500us'), 1.5);
  assert.equal(parseDuration('1µs'), 0.001);
  assert.equal(parseDuration('0'), 0);
  for (const bad of ['30', '', '-5s', '5 s', '1x', 'ms', '1h30', '1.2.3s']) assert.equal(parseDuration(bad), undefined, bad);
});

test('sizes take bytes or a unit', () => {
  assert.equal(parseSize('1048576'), 1_048_576);
  assert.equal(parseSize('64KiB'), 65_536);
  assert.equal(parseSize('1MiB'), 1_048_576);
  assert.equal(parseSize('10MB'), 10_000_000);
  for (const bad of ['', '1 XB', '-1', 'KiB']) assert.equal(parseSize(bad), undefined, bad);
});
