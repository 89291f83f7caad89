// examples/django end to end: a real Django dev server (Debian's python3-django) as the gateway's
// auth backend, the real gateway, and Chromium logging in through Django's own login form, then
// receiving what Django publishes from a model save and from a view, through clients/js.
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
import { findPython, runPython, startPythonServer } from '../helpers/python.js';
import { untilNothingHeld } from './held.js';

const python = findPython(['django']);
const skip = chromiumMissing() ?? (python === undefined ? 'no python3 with Django (apt-get install python3-django; .ci/run installs it)' : undefined);
const MANAGE = 'examples/django/manage.py';

describe('Django example: login, auth endpoint, push from a model save and a view', { skip }, () => {
  let browser: Browser;
  before(async () => { browser = await launchChromium(); });
  after(async () => { await browser?.close(); });

  test('a logged-in browser receives what Django publishes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'octoway-django-'));
    const port = await freePort();
    const site = `http://127.0.0.1:${port}`;
    const gw = await startGateway({ WS_AUTH_URL: `${site}/octoway/auth`, WS_DELIVERY: 'at-least-once', WS_ALLOWED_ORIGINS: site });
    const env = { DJANGO_DB: join(dir, 'db.sqlite3'), OCTOWAY_URL: gw.http, OCTOWAY_LOGIN: LOGIN, OCTOWAY_PASSWORD: PASSWORD, OCTOWAY_WS_URL: gw.ws('/ws') };
    let django;
    try {
      const seeded = await runPython(python!, [MANAGE, 'seed_demo'], env);
      assert.equal(seeded.code, 0, seeded.stderr);
      django = await startPythonServer(python!, [MANAGE, 'runserver', `127.0.0.1:${port}`, '--noreload'], env, /Starting development server/);

      const anonymous = await refusal(gw.ws('/ws'), { origin: site });
      assert.equal(anonymous.status, 401, 'no Django session: the auth view answers 401, the upgrade is refused');

      const page = await browser.newPage();
      await page.goto(`${site}/login/?next=/`);
      await page.fill('#id_username', 'alice');
      await page.fill('#id_password', 'alice-password');
      await page.click('#login');
      await page.locator('#status', { hasText: 'open' }).waitFor({ timeout: 10_000 });
      const who = await page.evaluate('fetch("/octoway/auth").then((r) => r.json())');
      assert.deepEqual(who, { user: { email: 'alice@example.com', organization_name: 'acme' } });

      const saved = await runPython(python!, [MANAGE, 'add_note', 'alice', 'from a model save'], env);
      assert.equal(saved.code, 0, saved.stderr);
      await page.locator('#messages li', { hasText: 'note: from a model save' }).waitFor({ timeout: 10_000 });

      await page.click('text=Send to my organisation');
      await page.locator('#messages li', { hasText: 'alice@example.com: hello, organisation' }).waitFor({ timeout: 10_000 });

      assert.equal(await page.locator('#messages li').count(), 2);
      await untilNothingHeld(gw, 'alice@example.com');
      await untilNothingHeld(gw, 'acme');
    } finally {
      await django?.stop();
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
