// examples/django and examples/flask end to end, one scenario for both: the framework's real dev
// server (Debian's python3-django / python3-flask) is the gateway's WS_AUTH_URL; Chromium logs in
// through the site's own form (the framework's session cookie then rides on the upgrade) and
// receives, through clients/js, what the site publishes from a model save or insert and from a view.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromiumMissing, launchChromium } from '../helpers/browser.js';
import { refusal } from '../helpers/client.js';
import { LOGIN, PASSWORD, startGateway } from '../helpers/gateway.js';
import { untilNothingHeld } from '../helpers/held.js';
import { freePort } from '../helpers/ports.js';
import { findPython, runPython, startPythonServer, type PythonServer } from '../helpers/python.js';

interface Site {
  readonly name: string;
  readonly python: string | undefined;
  readonly missing: string;
  /** Prepares the database and starts the dev server on `port`. */
  start(python: string, port: number, env: Record<string, string>): Promise<PythonServer>;
  login(page: Page, site: string): Promise<void>;
  /** Makes the site save a note for alice, which it publishes to her. */
  saveNote(python: string, page: Page, env: Record<string, string>): Promise<string>;
}

const DJANGO = 'examples/django/manage.py';

const sites: Site[] = [
  {
    name: 'Django',
    python: findPython(['django']),
    missing: 'no python3 with Django (apt-get install python3-django; .ci/run installs it)',
    async start(python, port, env) {
      const seeded = await runPython(python, [DJANGO, 'seed_demo'], env);
      assert.equal(seeded.code, 0, seeded.stderr);
      return startPythonServer(python, [DJANGO, 'runserver', `127.0.0.1:${port}`, '--noreload'], env, /Starting development server/);
    },
    async login(page, site) {
      await page.goto(`${site}/login/?next=/`);
      await page.fill('#id_username', 'alice');
      await page.fill('#id_password', 'alice-password');
      await page.click('#login');
    },
    async saveNote(python, _page, env) {
      // A save outside any request, as a job or the shell would make: the post_save signal publishes.
      const saved = await runPython(python, [DJANGO, 'add_note', 'alice', 'from a model save'], env);
      assert.equal(saved.code, 0, saved.stderr);
      return 'note: from a model save';
    },
  },
  {
    name: 'Flask',
    python: findPython(['flask']),
    missing: 'no python3 with Flask (apt-get install python3-flask; .ci/run installs it)',
    start(python, port, env) {
      return startPythonServer(python, ['examples/flask/app.py'], { ...env, FLASK_PORT: String(port) }, /Running on http:\/\/127\.0\.0\.1/);
    },
    async login(page, site) {
      await page.goto(`${site}/login`);
      await page.fill('#email', 'alice@example.com');
      await page.fill('#password', 'alice-password');
      await page.click('#login');
    },
    async saveNote(_python, page) {
      await page.click('text=Save a note'); // a view that inserts into SQLite, commits, then publishes
      return 'note: a note';
    },
  },
];

describe('Django and Flask examples: login, auth endpoint, push from a save and a view', { skip: chromiumMissing() }, () => {
  let browser: Browser;
  before(async () => { browser = await launchChromium(); });
  after(async () => { await browser?.close(); });

  for (const s of sites) {
    test(`${s.name}: a logged-in browser receives what the site publishes`, { skip: s.python === undefined ? s.missing : false }, async () => {
      const python = s.python!;
      const dir = mkdtempSync(join(tmpdir(), `octoway-${s.name.toLowerCase()}-`));
      const port = await freePort();
      const site = `http://127.0.0.1:${port}`;
      const gw = await startGateway({ WS_AUTH_URL: `${site}/octoway/auth`, WS_DELIVERY: 'at-least-once', WS_ALLOWED_ORIGINS: site });
      const env = {
        DJANGO_DB: join(dir, 'db.sqlite3'), FLASK_DB: join(dir, 'notes.sqlite3'),
        OCTOWAY_URL: gw.http, OCTOWAY_LOGIN: LOGIN, OCTOWAY_PASSWORD: PASSWORD, OCTOWAY_WS_URL: gw.ws('/ws'),
      };
      let server: PythonServer | undefined;
      const page = await browser.newPage();
      try {
        server = await s.start(python, port, env);
        const anonymous = await refusal(gw.ws('/ws'), { origin: site });
        assert.equal(anonymous.status, 401, 'no session: the auth view answers 401, the upgrade is refused');

        await s.login(page, site);
        await page.locator('#status', { hasText: 'open' }).waitFor({ timeout: 10_000 });
        const who = await page.evaluate('fetch("/octoway/auth").then((r) => r.json())');
        assert.deepEqual(who, { user: { email: 'alice@example.com', organization_name: 'acme' } });

        const note = await s.saveNote(python, page, env);
        await page.locator('#messages li', { hasText: note }).waitFor({ timeout: 10_000 });
        await page.click('text=Send to my organisation');
        await page.locator('#messages li', { hasText: 'alice@example.com: hello, organisation' }).waitFor({ timeout: 10_000 });

        assert.equal(await page.locator('#messages li').count(), 2);
        await untilNothingHeld(gw, 'alice@example.com');
        await untilNothingHeld(gw, 'acme');
      } finally {
        await page.close();
        await server?.stop();
        await gw.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
