// GET /metrics against the real gateway: the Prometheus text format, every family present, each
// moving when its event happens, the optional credentials and the optional port of its own.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startAuthBackend, type AuthBackend } from '../helpers/auth-backend.js';
import { gatewayForSuite, startExpectingFailure, startGateway, untilRedisLive, type GatewayProcess } from '../helpers/gateway.js';
import { connect, refusal } from '../helpers/client.js';
import { freePort, SHARED_REDIS_URL, testPrefix } from '../helpers/redis.js';

/** Every octoway_* family the gateway exports with the memory store, and a few of Node's. */
const FAMILIES = [
  'octoway_build_info', 'octoway_connections', 'octoway_keys', 'octoway_held_messages', 'octoway_held_keys',
  'octoway_messages_published_total', 'octoway_publishes_refused_total', 'octoway_requests_refused_total',
  'octoway_messages_delivered_total', 'octoway_acknowledgements_total', 'octoway_messages_expired_total',
  'octoway_messages_dropped_total', 'octoway_upgrades_refused_total', 'octoway_upgrades_pending',
  'octoway_auth_calls_total', 'octoway_auth_call_duration_seconds', 'octoway_auth_cache_hits_total',
  'octoway_auth_cache_misses_total', 'octoway_auth_queue', 'octoway_ready',
  'nodejs_eventloop_lag_seconds', 'process_cpu_seconds_total', 'process_resident_memory_bytes',
];

/** The value of one sample (name and exact label text), or undefined when absent. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const prefix = labels === '' ? `${name} ` : `${name}{${labels}} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}

async function scrape(base: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${base}/metrics`, { headers });
  assert.equal(res.status, 200);
  return res.text();
}

/** Scrapes until `check` passes (for counts a timer moves, such as expiry), or fails after 5 s. */
async function until(base: string, check: (text: string) => boolean): Promise<string> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const text = await scrape(base);
    if (check(text)) return text;
    if (Date.now() > deadline) assert.fail(`metrics never matched:\n${text.split('\n').filter((l) => l.startsWith('octoway_')).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('GET /metrics on WS_PORT', () => {
  const suite = gatewayForSuite({
    WS_ALLOWED_ORIGINS: 'https://app.example.com', WS_AUTH_CACHE_TTL: '1m', WS_MAX_HELD_PER_KEY: '1', WS_SWEEP_INTERVAL: '100ms',
  });

  test('answers the Prometheus text format with every family, without credentials by default', async () => {
    const res = await fetch(`${suite.gw.http}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    for (const family of FAMILIES) assert.match(text, new RegExp(`^# TYPE ${family} `, 'm'), family);
    assert.equal(sample(text, 'octoway_ready'), 1);
    assert.match(text, /^octoway_build_info\{version="[^"]+",commit="[^"]+",node="v\d+/m);
  });

  test('publishes count by result, refused ones by code, deliveries per socket', async () => {
    const { gw } = suite;
    const before = await scrape(gw.http);
    assert.equal((await gw.publish({ key: 'm-held', value: 1 })).status, 202);
    assert.equal((await gw.request('POST', '/', { body: '{"key":"x","value":1}', auth: false })).status, 401);
    assert.equal((await gw.request('POST', '/', { body: '{nope' })).status, 400);
    assert.equal((await gw.request('GET', '/nowhere')).status, 404);
    const socket = await connect(gw.ws('/ws?email=m-live'), { origin: 'https://app.example.com' });
    assert.equal((await gw.publish({ key: 'm-live', value: 2 })).status, 202);
    await socket.waitForFrames(1);
    socket.send({ id: socket.frames[0]!.id });
    const text = await until(gw.http, (t) => (sample(t, 'octoway_acknowledgements_total') ?? 0) > (sample(before, 'octoway_acknowledgements_total') ?? 0));
    const moved = (name: string, labels = ''): number => (sample(text, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
    assert.equal(moved('octoway_messages_published_total', 'result="held"'), 1);
    assert.equal(moved('octoway_messages_published_total', 'result="delivered"'), 1);
    assert.equal(moved('octoway_publishes_refused_total', 'code="UNAUTHORIZED"'), 1);
    assert.equal(moved('octoway_publishes_refused_total', 'code="INVALID_JSON"'), 1);
    assert.equal(moved('octoway_requests_refused_total', 'code="NOT_FOUND"'), 1);
    assert.equal(moved('octoway_messages_delivered_total'), 1);
    assert.equal(sample(text, 'octoway_connections'), 1);
    assert.equal(sample(text, 'octoway_keys'), 1);
    assert.ok((sample(text, 'octoway_held_messages') ?? 0) >= 1);
    assert.ok((sample(text, 'octoway_held_keys') ?? 0) >= 1);
    await socket.close();
  });

  test('a refused upgrade counts under its code; auth calls count by outcome with their latency; cache hits and misses', async () => {
    const { gw } = suite;
    const before = await scrape(gw.http);
    assert.equal((await refusal(gw.ws('/ws?email=a'), { origin: 'https://evil.example.com' })).status, 403);
    assert.equal((await refusal(gw.ws('/ws'), { origin: 'https://app.example.com' })).status, 401);
    const first = await connect(gw.ws('/ws?email=cached'), { origin: 'https://app.example.com' });
    const second = await connect(gw.ws('/ws?email=cached'), { origin: 'https://app.example.com' });
    const text = await scrape(gw.http);
    const moved = (name: string, labels = ''): number => (sample(text, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
    assert.equal(moved('octoway_upgrades_refused_total', 'code="ORIGIN_NOT_ALLOWED"'), 1);
    assert.equal(moved('octoway_upgrades_refused_total', 'code="AUTH_DENIED"'), 1);
    assert.equal(moved('octoway_auth_calls_total', 'outcome="AUTH_DENIED"'), 1);
    // The second socket's upgrade is answered from the cache: one backend call for two sockets.
    assert.equal(moved('octoway_auth_calls_total', 'outcome="allowed"'), 1);
    assert.equal(moved('octoway_auth_cache_hits_total'), 1);
    assert.equal(moved('octoway_auth_cache_misses_total'), 2);
    assert.equal(moved('octoway_auth_call_duration_seconds_count'), 2);
    assert.ok(moved('octoway_auth_call_duration_seconds_sum') > 0);
    assert.equal(moved('octoway_auth_call_duration_seconds_bucket', 'le="+Inf"'), 2);
    await first.close();
    await second.close();
  });

  test('expired and dropped held messages are counted', async () => {
    const { gw } = suite;
    const before = await scrape(gw.http);
    // WS_MAX_HELD_PER_KEY=1: the second message pushes out the first.
    assert.equal((await gw.publish({ key: 'm-drop', value: 1 })).status, 202);
    assert.equal((await gw.publish({ key: 'm-drop', value: 2 })).status, 202);
    assert.equal((await gw.publish({ key: 'm-expire', value: 1, expire: '200ms' })).status, 202);
    const text = await until(gw.http, (t) => (sample(t, 'octoway_messages_expired_total') ?? 0) > (sample(before, 'octoway_messages_expired_total') ?? 0));
    assert.equal((sample(text, 'octoway_messages_dropped_total', 'reason="per_key"') ?? 0) - (sample(before, 'octoway_messages_dropped_total', 'reason="per_key"') ?? 0), 1);
    assert.equal((sample(text, 'octoway_messages_expired_total') ?? 0) - (sample(before, 'octoway_messages_expired_total') ?? 0), 1);
  });

  test('other methods are refused with 405', async () => {
    const res = await fetch(`${suite.gw.http}/metrics`, { method: 'POST', body: 'x' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET');
  });
});

describe('GET /metrics behind WS_METRICS_LOGIN and WS_METRICS_PASSWORD', () => {
  const suite = gatewayForSuite({ WS_METRICS_LOGIN: 'prometheus', WS_METRICS_PASSWORD: 'scr4pe-secret' });
  const basic = (login: string, password: string): string => `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;

  test('needs its own credentials: none or wrong ones get 401, the publish credentials too', async () => {
    const attempts: Array<Record<string, string>> = [{}, { authorization: basic('prometheus', 'wrong') }, { authorization: basic('backend', 'pa55-w0rd-secret') }];
    for (const headers of attempts) {
      const res = await fetch(`${suite.gw.http}/metrics`, { headers });
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Basic /);
      assert.equal(((await res.json()) as { error: string }).error, 'UNAUTHORIZED');
    }
    const text = await scrape(suite.gw.http, { authorization: basic('prometheus', 'scr4pe-secret') });
    assert.equal(sample(text, 'octoway_requests_refused_total', 'code="UNAUTHORIZED"'), 3);
    assert.doesNotMatch(suite.gw.output(), /scr4pe-secret/);
  });
});

describe('GET /metrics on WS_METRICS_PORT', () => {
  let auth: AuthBackend;
  let gw: GatewayProcess;
  let metricsPort: number;
  before(async () => {
    auth = await startAuthBackend();
    metricsPort = await freePort();
    gw = await startGateway({ WS_AUTH_URL: auth.url, WS_METRICS_PORT: String(metricsPort), WS_METRICS_LOGIN: 'p', WS_METRICS_PASSWORD: 'q' });
  });
  after(async () => {
    assert.equal(await gw.stop(), 0);
    await auth.close();
  });

  test('serves /metrics there alone, with the credentials, and no longer on WS_PORT', async () => {
    const base = `http://127.0.0.1:${metricsPort}`;
    const authorization = `Basic ${Buffer.from('p:q').toString('base64')}`;
    assert.equal((await gw.waitForLog((l) => l.msg === 'metrics listening')).port, metricsPort);
    assert.equal((await gw.publish({ key: 'k', value: 1 })).status, 202);
    const text = await scrape(base, { authorization });
    assert.equal(sample(text, 'octoway_messages_published_total', 'result="held"'), 1);
    assert.equal((await fetch(`${base}/metrics`)).status, 401);
    assert.equal((await fetch(`${base}/`, { headers: { authorization } })).status, 404);
    assert.equal((await fetch(`${base}/metrics`, { method: 'DELETE', headers: { authorization } })).status, 405);
    assert.equal((await fetch(`${gw.http}/metrics`, { headers: { authorization } })).status, 404);
  });
});

describe('GET /metrics with Redis', () => {
  const suite = gatewayForSuite({ WS_REDIS_URL: SHARED_REDIS_URL, WS_REDIS_PREFIX: testPrefix('metrics') });

  test('reports both Redis connections connected and ready, and no memory-store gauges', async () => {
    await untilRedisLive(suite.gw);
    const text = await scrape(suite.gw.http);
    for (const connection of ['commands', 'bus']) {
      assert.equal(sample(text, 'octoway_redis_connected', `connection="${connection}"`), 1);
      assert.equal(sample(text, 'octoway_redis_ready', `connection="${connection}"`), 1);
    }
    assert.doesNotMatch(text, /^octoway_held_messages /m);
    assert.match(text, /^octoway_messages_dropped_total\{reason="per_key"\} 0$/m);
  });
});

describe('metrics settings', () => {
  test('WS_METRICS_LOGIN without WS_METRICS_PASSWORD, or WS_METRICS_PORT equal to WS_PORT, stop the start with exit 2', async () => {
    const half = await startExpectingFailure({ WS_AUTH_URL: 'http://127.0.0.1:1/', WS_LOGIN: 'a', WS_PASSWORD: 'b', WS_METRICS_LOGIN: 'p' });
    assert.equal(half.exitCode, 2);
    assert.match(half.stderr, /WS_METRICS_PASSWORD is not set/);
    const same = await startExpectingFailure({ WS_AUTH_URL: 'http://127.0.0.1:1/', WS_LOGIN: 'a', WS_PASSWORD: 'b', WS_PORT: '7899', WS_METRICS_PORT: '7899' });
    assert.equal(same.exitCode, 2);
    assert.match(same.stderr, /WS_METRICS_PORT="7899": expected a port other than WS_PORT/);
  });
});
