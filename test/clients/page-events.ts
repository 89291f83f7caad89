// The test page for the JavaScript SDK in a browser: it records every client event in
// window.events, which the tests wait on (no fixed sleeps).
import type { Page } from 'playwright-core';

/** Connects an Octoway client to the WebSocket URL in ?ws= and records its events. */
export const SDK_PAGE = `<!doctype html><meta charset="utf-8"><title>octoway sdk test</title>
<script type="module">
import { Octoway } from '/octoway.js';
window.events = [];
const client = new Octoway({ url: new URLSearchParams(location.search).get('ws'), minDelay: 100, maxDelay: 1000 });
for (const type of ['open', 'message', 'close', 'error']) {
  client.on(type, (event) => window.events.push({ type, ...event, error: event.error === undefined ? undefined : String(event.error) }));
}
client.connect();
</script>`;

export interface PageEvent { type: string; id?: string; payload?: unknown; code?: number; reconnect?: boolean; attempt?: number }

/** Resolves with the page's events of `type` once there are at least `count` of them. */
export async function waitForPageEvents(page: Page, type: string, count: number, timeoutMs = 10_000): Promise<PageEvent[]> {
  const expr = `(window.events ?? []).filter((e) => e.type === ${JSON.stringify(type)}).length >= ${count}`;
  try {
    await page.waitForFunction(expr, undefined, { timeout: timeoutMs, polling: 20 });
  } catch (error) {
    throw new Error(`expected ${count} "${type}" events; the page has ${JSON.stringify(await pageEvents(page))}`, { cause: error });
  }
  return (await pageEvents(page)).filter((e) => e.type === type);
}

export function pageEvents(page: Page): Promise<PageEvent[]> {
  return page.evaluate('window.events ?? []') as Promise<PageEvent[]>;
}
