// Philote's /api/info and its 420 for other API paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_OTHER, apiRoute, infoBody } from '../../../src/protocols/philote/api.js';

test('routes: GET /api/info; other /api requests 420; other paths are upgrades', () => {
  assert.equal(apiRoute('GET', '/api/info'), 'info');
  assert.equal(apiRoute('POST', '/api/info'), 'other');
  assert.equal(apiRoute('GET', '/apiary'), 'other', 'a prefix, as Philote checks it');
  assert.equal(apiRoute('GET', '/ws'), undefined);
  assert.deepEqual(API_OTHER, { status: 420, body: '' });
});

test('the info body: hiveInfo\'s fields in order', () => {
  const body = infoBody({ version: '0.1.0', goArch: 'amd64', goOs: 'linux', goVersion: 'node-v20', numCpu: 2, uptimeSeconds: 90_000, tcpPort: '6380', pid: 42, connections: 3, maxConnections: 255, readBufferSize: 1024, writeBufferSize: 1024, checkOrigin: false });
  assert.equal(body, '{"version":"0.1.0","go_arch":"amd64","go_os":"linux","go_version":"node-v20","num_cpu":2,"uptime_in_seconds":90000,"uptime_in_days":1,"tcp_port":"6380","pid":42,"connections":3,"max_connections":255,"read_buffer_size":1024,"write_buffer_size":1024,"check_origin":false}');
  assert.deepEqual(Object.keys(JSON.parse(body)).length, 14);
});
