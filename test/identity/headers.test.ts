// What reaches the auth backend: copied and stripped headers, X-Forwarded-* and trusted proxies.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { createForwardPipeline, type ForwardPipelineOptions } from '../../src/identity/pipeline.js';
import { createProxyMatcher } from '../../src/identity/proxies.js';
import { OctowayError } from '../../src/errors.js';
import { captureLogger, forwardOptions, startAuthBackend, upgradeRequest } from '../helpers/auth-backend.js';

const backend = await startAuthBackend();
after(() => backend.close());

const browserHeaders = {
  cookie: 'session=abc',
  authorization: 'Bearer t0k',
  origin: 'https://app.example',
  'user-agent': 'Browser/1.0',
  'accept-language': 'fr',
  'x-tenant': 't1',
  'x-other': 'not named',
};

/** The headers the backend received for one upgrade. */
async function forwarded(
  headers: Record<string, string>, remoteAddress = '203.0.113.7', options: Partial<ForwardPipelineOptions> = {},
): Promise<IncomingHttpHeaders> {
  const { logger } = captureLogger();
  const auth = createForwardPipeline(await forwardOptions(backend.url, options), logger);
  const start = backend.requests.length;
  await auth.authenticate(upgradeRequest('token=q&email=a', headers, remoteAddress), new AbortController().signal);
  await auth.close();
  const seen = backend.requests[start];
  assert.ok(seen, 'the backend was called');
  return seen.headers;
}

test('copies the credential headers and sets X-Forwarded-* from what the gateway sees', async () => {
  const seen = await forwarded(browserHeaders);
  for (const name of ['cookie', 'authorization', 'origin', 'user-agent', 'accept-language'] as const) {
    assert.equal(seen[name], browserHeaders[name], name);
  }
  assert.equal(seen['x-forwarded-for'], '203.0.113.7');
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.equal(seen['x-forwarded-host'], 'gateway.example');
  assert.equal(seen['x-forwarded-uri'], '/ws?token=q&email=a');
  assert.equal(seen['x-tenant'], undefined, 'extra headers only when named');
});

test('forwards the headers named in forwardHeaders', async () => {
  const seen = await forwarded(browserHeaders, undefined, { forwardHeaders: ['x-tenant'] });
  assert.equal(seen['x-tenant'], 't1');
  assert.equal(seen['x-other'], undefined);
});

test('never forwards hop-by-hop, Sec-WebSocket-* or Host, even when named', async () => {
  const hostile = {
    ...browserHeaders,
    connection: 'Upgrade, X-Private',
    upgrade: 'websocket',
    'keep-alive': 'timeout=5',
    te: 'trailers',
    trailer: 'x-t',
    'proxy-authorization': 'Basic cHJveHk=',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'sec-websocket-protocol': 'chat',
    'x-private': 'hop',
  };
  const named = Object.keys(hostile).concat('host');
  const seen = await forwarded(hostile, undefined, { forwardHeaders: named });
  for (const name of ['upgrade', 'keep-alive', 'te', 'trailer', 'proxy-authorization', 'sec-websocket-key',
    'sec-websocket-protocol', 'x-private']) {
    assert.equal(seen[name], undefined, name);
  }
  assert.notEqual(seen.connection?.toLowerCase(), 'upgrade, x-private');
  assert.equal(seen.host, new URL(backend.url).host, 'Host names the backend, not the gateway');
  assert.equal(seen['x-tenant'], 't1', 'named ordinary headers still pass');
});

const proxyHeaders = {
  'x-forwarded-for': '198.51.100.9, 10.0.0.2',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'public.example',
  'x-forwarded-uri': '/public/ws?token=q',
};

test('an untrusted peer cannot set X-Forwarded-*: the gateway replaces them', async () => {
  const seen = await forwarded({ ...browserHeaders, ...proxyHeaders, 'x-forwarded-port': '443' }, '203.0.113.7',
    { forwardHeaders: ['x-forwarded-port'] });
  assert.equal(seen['x-forwarded-for'], '203.0.113.7');
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.equal(seen['x-forwarded-host'], 'gateway.example');
  assert.equal(seen['x-forwarded-uri'], '/ws?token=q&email=a');
  assert.equal(seen['x-forwarded-port'], undefined);
});

test('a trusted proxy keeps its X-Forwarded-* and the peer joins the For chain', async () => {
  const seen = await forwarded({ ...browserHeaders, ...proxyHeaders, 'x-forwarded-port': '443' }, '10.1.2.3',
    { trustedProxies: ['10.0.0.0/8'], forwardHeaders: ['x-forwarded-port'] });
  assert.equal(seen['x-forwarded-for'], '198.51.100.9, 10.0.0.2, 10.1.2.3');
  assert.equal(seen['x-forwarded-proto'], 'https');
  assert.equal(seen['x-forwarded-host'], 'public.example');
  assert.equal(seen['x-forwarded-uri'], '/public/ws?token=q');
  assert.equal(seen['x-forwarded-port'], '443');
});

test('a trusted proxy that sends no X-Forwarded-* gets the gateway\'s own values', async () => {
  const seen = await forwarded(browserHeaders, '2001:db8::5', { trustedProxies: ['2001:db8::/32'] });
  assert.equal(seen['x-forwarded-for'], '2001:db8::5');
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.equal(seen['x-forwarded-host'], 'gateway.example');
});

test('proxy matching takes IPs and CIDRs of both families, and IPv4-mapped peers', () => {
  const trusted = createProxyMatcher(['127.0.0.1', '::1', '10.0.0.0/8', '2001:db8::/32', ' 192.168.1.0/24 ']);
  for (const peer of ['127.0.0.1', '::1', '10.255.0.1', '2001:db8:1::1', '::ffff:10.0.0.1', '192.168.1.77']) {
    assert.equal(trusted(peer), true, peer);
  }
  for (const peer of ['127.0.0.2', '11.0.0.1', '2001:db9::1', '192.168.2.1', 'not-an-ip', '']) {
    assert.equal(trusted(peer), false, peer);
  }
  assert.equal(createProxyMatcher([])('127.0.0.1'), false);
});

test('proxy answers stay right when asked again and past the remembered-address bound', () => {
  const trusted = createProxyMatcher(['10.0.0.0/8']);
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 6000; i++) {
      const a = i >> 8;
      const b = i & 255;
      assert.equal(trusted(`10.0.${a}.${b}`), true);
      assert.equal(trusted(`11.0.${a}.${b}`), false);
    }
  }
});

test('bad proxy entries are all reported as CONFIG_INVALID', () => {
  assert.throws(() => createProxyMatcher(['10.0.0.0/33', 'nginx', '::1/129', '1.2.3.4/x', '127.0.0.1']), (err) => {
    assert.ok(err instanceof OctowayError);
    assert.equal(err.code, 'CONFIG_INVALID');
    for (const bad of ['10.0.0.0/33', 'nginx', '::1/129', '1.2.3.4/x']) assert.ok(err.message.includes(bad), bad);
    assert.ok(!err.message.includes('"127.0.0.1"'));
    return true;
  });
});
