// Claim filters follow Driplet's targeting rules (../shared/seeds/PROTOCOLS.md), case by case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter, matchesFilter, type Filter } from '../../src/delivery/filter.js';
import { OctowayError } from '../../src/errors.js';

const claims = { plan: 'pro', age: 30, tags: ['a', 'b'], empty: [], user: { id: 7, team: 'x' }, flag: false, none: null };
const f = (spec: unknown): Filter => compileFilter(spec) as Filter;
const cases: Array<[spec: unknown, receives: boolean]> = [
  [{ include: { plan: 'pro' } }, true],
  [{ include: { plan: 'free' } }, false],
  [{ include: { plan: 'free', age: 30 } }, true], // any include rule
  [{ include: { age: 30.0 } }, true], // numbers as numbers
  [{ include: { age: '30' } }, false], // but not as strings
  [{ include: { 'user.id': 7 } }, true], // dotted path
  [{ include: { 'user.id.more': 7 } }, false], // path past a scalar
  [{ include: { missing: null } }, false], // a missing path matches nothing
  [{ include: { none: null } }, true],
  [{ include: { flag: false } }, true],
  [{ include: { tags: ['b', 'z'] } }, true], // shared element
  [{ include: { tags: ['z'] } }, false],
  [{ include: { tags: 'a' } }, true], // the claim array contains the value
  [{ include: { plan: ['free', 'pro'] } }, true], // the claim is one of the values
  [{ include: { empty: [] } }, true], // an empty array matches only an empty array
  [{ include: { tags: [] } }, false],
  [{ exclude: { plan: 'pro' } }, false],
  [{ exclude: { plan: 'free' } }, true],
  [{ include: { plan: 'pro' }, exclude: { 'user.team': 'x' } }, false], // exclude first
  [{ include: {}, exclude: {} }, true],
];

for (const [spec, receives] of cases) {
  test(`filter ${JSON.stringify(spec)} -> ${receives ? 'receives' : 'skipped'}`, () => {
    const filter = compileFilter(spec);
    assert.equal(filter === undefined ? true : matchesFilter(filter, claims), receives);
  });
}

test('a socket without claims receives only filters with no include and no matching exclude', () => {
  assert.equal(matchesFilter(f({ include: { plan: 'pro' } }), undefined), false);
  assert.equal(matchesFilter(f({ exclude: { plan: 'pro' } }), undefined), true);
});

test('a malformed filter is refused with INVALID_FILTER, naming the part', () => {
  for (const bad of [5, [], { include: 5 }, { include: { a: { b: 1 } } }, { other: {} }, { include: { '': 1 } }, { include: { 'a..b': 1 } }, { include: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i])) }]) {
    assert.throws(() => compileFilter(bad), (err: unknown) => err instanceof OctowayError && err.code === 'INVALID_FILTER', JSON.stringify(bad));
  }
});

test('a prototype path is not a claim', () => {
  assert.equal(matchesFilter(f({ include: { 'plan.length': 3 } }), claims), false);
  assert.equal(matchesFilter(f({ include: { 'toString': null } }), {}), false);
});
