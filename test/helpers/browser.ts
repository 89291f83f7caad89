// Headless Chromium for browser tests (Debian's chromium driven by playwright-core), and a tiny
// page server that serves a test page beside the JavaScript SDK (clients/js), as an app would.
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';

/** The repository root, from dist/test/helpers/. */
export const REPO = new URL('../../../', import.meta.url);
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why browser tests cannot run here, or undefined when they can. .ci/run installs chromium, so in CI this is always undefined. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH); .ci/run installs it`;
}

export function launchChromium(): Promise<Browser> {
  // --no-sandbox: tests and CI run as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

export interface PageServer { readonly url: string; close(): Promise<void> }

/** Serves `html` at / (with `headers`, a Set-Cookie say) and the SDK at /octoway.js on 127.0.0.1. */
export async function servePage(html: string, headers: Record<string, string> = {}): Promise<PageServer> {
  const sdk = readFileSync(new URL('clients/js/octoway.js', REPO));
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://page').pathname;
    if (path === '/octoway.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(sdk);
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...headers });
      res.end(html);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return closed;
    },
  };
}
