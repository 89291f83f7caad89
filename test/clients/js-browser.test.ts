// The JavaScript SDK (clients/js) in real headless Chromium against the real gateway: it connects,
// receives, acknowledges (at-least-once), and reconnects when the gateway restarts under the page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { chromiumMissing, launchChromium, servePage, type PageServer } from '../helpers/browser.js';
import { startAuthBackend } from '../helpers/auth-backend.js';
import { startGateway } from '../helpers/gateway.js';
import { untilNothingHeld } from '../helpers/held.js';
import { freePort } from '../helpers/ports.js';
import { SDK_PAGE, waitForPageEvents } from './page-events.js';

const missing = chromiumMissing();
const KEY = 'alice@example.com';

describe('JavaScript SDK in Chromium', { skip: missing }, () => {
  let browser: Browser;
  let site: PageServer;
  before(async () => {
    browser = await launchChromium();
    site = await servePage(SDK_PAGE);
  });
  after(async () => {
    await browser?.close();
    await site?.close();
  });

  test('receives a message, acknowledges it by id so at-least-once stops holding it', async () => {
    const auth = await startAuthBackend();
    const gw = await startGateway({ WS_AUTH_URL: auth.url, WS_DELIVERY: 'at-least-once' });
    const page = await browser.newPage();
    try {
      await page.goto(`${site.url}?ws=${encodeURIComponent(gw.ws(`/ws?email=${KEY}`))}`);
      await waitForPageEvents(page, 'open', 1);
      const published = await gw.publish({ key: KEY, value: { hello: 'browser' } });
      assert.equal(published.status, 202);
      assert.equal(published.json.delivered, 1);
      const [message] = await waitForPageEvents(page, 'message', 1);
      assert.deepEqual(message!.payload, { hello: 'browser' });
      assert.equal(message!.id, published.json.id);
      await untilNothingHeld(gw, KEY);
    } finally {
      await page.close();
      await gw.stop();
      await auth.close();
    }
  });

  test('the gateway restarts under the page: the page reconnects and receives what is published after', async () => {
    const auth = await startAuthBackend();
    const port = String(await freePort());
    const env = { WS_AUTH_URL: auth.url, WS_DELIVERY: 'at-least-once', WS_PORT: port };
    let gw = await startGateway(env);
    const page = await browser.newPage();
    try {
      await page.goto(`${site.url}?ws=${encodeURIComponent(gw.ws(`/ws?email=${KEY}`))}`);
      await waitForPageEvents(page, 'open', 1);
      assert.equal((await gw.publish({ key: KEY, value: 'before' })).json.delivered, 1);
      await waitForPageEvents(page, 'message', 1);

      assert.equal(await gw.stop(), 0);
      const [closed] = await waitForPageEvents(page, 'close', 1);
      assert.equal(closed!.code, 1001, 'the gateway says it is going away');
      assert.equal(closed!.reconnect, true);

      gw = await startGateway(env);
      // Published as soon as the new gateway listens: held if the page is still between attempts,
      // delivered live if it is back already; it arrives either way.
      assert.equal((await gw.publish({ key: KEY, value: 'after restart' })).status, 202);
      const opens = await waitForPageEvents(page, 'open', 2);
      assert.equal(opens.length, 2);
      const messages = await waitForPageEvents(page, 'message', 2);
      assert.deepEqual(messages.map((m) => m.payload), ['before', 'after restart']);
      await untilNothingHeld(gw, KEY);
    } finally {
      await page.close();
      await gw.stop();
      await auth.close();
    }
  });
});
