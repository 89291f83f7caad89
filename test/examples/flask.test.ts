// examples/flask end to end: a real Flask dev server (Debian's python3-flask) as the gateway's
// auth backend, the real gateway, and Chromium logging in through the app's form, then receiving
// what Flask publishes after a SQLite insert and from a view, through clients/js.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { chromiumMissing, launchChromium } from '../helpers/browser.js';
import { refusal } from '../helpers/client.js';
import { LOGIN, PASSWORD, startGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/ports.js';
import { findPython, startPythonServer } from '../helpers/python.js';
import { untilNothingHeld } from './held.js';

const python = findPython(['flask']);
const skip = chromiumMissing() ?? (python === undefined ? 'no python3 with Flask (apt-get install python3-flask; .ci/run installs it)' : undefined);

describe('Flask example: login, auth endpoint, push from an insert and a view', { skip }, () => {
  let browser: Browser;
  before(async () => { browser = await launchChromium(); });
  after(async () => { await browser?.close(); });

  test('a logged-in browser receives what Flask publishes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'octoway-flask-'));
    const port = await freePort();
    const site = `http://127.0.0.1:${port}`;
    const gw = await startGateway({ WS_AUTH_URL: `${site}/octoway/auth`, WS_DELIVERY: 'at-least-once', WS_ALLOWED_ORIGINS: site });
    const env = {
      FLASK_DB: join(dir, 'notes.sqlite3'), FLASK_PORT: String(port),
      OCTOWAY_URL: gw.http, OCTOWAY_LOGIN: LOGIN, OCTOWAY_PASSWORD: PASSWORD, OCTOWAY_WS_URL: gw.ws('/ws'),
    };
    let flask;
    try {
      flask = await startPythonServer(python!, ['examples/flask/app.py'], env, /Running on http:\/\/127\.0\.0\.1/);

      const anonymous = await refusal(gw.ws('/ws'), { origin: site });
      assert.equal(anonymous.status, 401, 'no Flask session: the auth view answers 401, the upgrade is refused');

      const page = await browser.newPage();
      await page.goto(`${site}/login`);
      await page.fill('#email', 'alice@example.com');
      await page.fill('#password', 'alice-password');
      await page.click('#login');
      await page.locator('#status', { hasText: 'open' }).waitFor({ timeout: 10_000 });
      const who = await page.evaluate('fetch("/octoway/auth").then((r) => r.json())');
      assert.deepEqual(who, { user: { email: 'alice@example.com', organization_name: 'acme' } });

      await page.click('text=Save a note');
      await page.locator('#messages li', { hasText: 'note: a note' }).waitFor({ timeout: 10_000 });
      await page.click('text=Send to my organisation');
      await page.locator('#messages li', { hasText: 'alice@example.com: hello, organisation' }).waitFor({ timeout: 10_000 });

      assert.equal(await page.locator('#messages li').count(), 2);
      await untilNothingHeld(gw, 'alice@example.com');
      await untilNothingHeld(gw, 'acme');
    } finally {
      await flask?.stop();
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
