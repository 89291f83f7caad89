// What a JWT's claims grant, in each seed's shape (notiflux, Philote, dSock, Driplet).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OctowayError } from '../../src/errors.js';
import { grantsOf, type JwtGrants } from '../../src/identity/jwt-grants.js';

function grants(claims: Record<string, unknown>): JwtGrants {
  const g = grantsOf(claims);
  assert.ok(!(g instanceof OctowayError), g instanceof OctowayError ? g.message : '');
  return g;
}

test('keys from sub then the keys claim, without repeats; session from sid; claims kept whole', () => {
  const g = grants({ sub: 'ann', sid: 's-1', keys: ['team-1', 'ann'], custom: { user: { id: 7 } }, exp: 1 });
  assert.deepEqual(g.keys, ['ann', 'team-1']);
  assert.deepEqual(g.keysClaim, ['team-1', 'ann']);
  assert.equal(g.subject, 'ann');
  assert.equal(g.session, 's-1');
  assert.deepEqual(g.claims.custom, { user: { id: 7 } });
  assert.equal(g.publisher, false);
  assert.deepEqual(grants({ keys: 'solo' }).keys, ['solo'], 'one string is one key');
  assert.deepEqual(grants({ sub: 42 }).keys, [], 'a non-string sub is no key');
});

test('notiflux: topics with scope subscribe or broadcast', () => {
  const sub = grants({ sub: 'u', topics: ['a', 'b'], scope: 'subscribe' });
  assert.deepEqual([sub.subscribe, sub.publish, sub.publisher], [['a', 'b'], [], false]);
  const pub = grants({ sub: 'backend', topics: ['a'], scope: 'broadcast' });
  assert.deepEqual([pub.subscribe, pub.publish, pub.publisher], [[], ['a'], true]);
  const both = grants({ topics: ['a'], scope: ['subscribe', 'publish'] });
  assert.deepEqual([both.subscribe, both.publish, both.publisher], [['a'], ['a'], true]);
  const oauth = grants({ topics: ['a'], scope: 'read:all publish' });
  assert.equal(oauth.publisher, true, 'an OAuth space-separated scope');
  assert.deepEqual(grants({ topics: ['a'] }).subscribe, ['a'], 'no scope: a subscriber\'s topics');
});

test('Philote: read and write; dSock: channels', () => {
  const philote = grants({ read: ['room-1', 'room-2'], write: ['room-1'], api: false });
  assert.deepEqual([philote.subscribe, philote.publish, philote.publisher], [['room-1', 'room-2'], ['room-1'], false]);
  assert.deepEqual(grants({ sub: 'u', sid: 's', channels: ['news'] }).subscribe, ['news']);
});

test('a grant claim of the wrong shape is refused, not ignored', () => {
  for (const claims of [{ keys: 5 }, { keys: [''] }, { topics: ['ok', 3] }, { read: 'x'.repeat(1025) }, { channels: Array.from({ length: 101 }, (_, i) => `c${i}`) }, { scope: 5 }, { scope: ['publish', 1] }]) {
    const g = grantsOf(claims);
    assert.ok(g instanceof OctowayError, JSON.stringify(claims).slice(0, 80));
    assert.equal(g.code, 'JWT_CLAIM_INVALID');
    assert.equal(g.status, 401);
  }
});
