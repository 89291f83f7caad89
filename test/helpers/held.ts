// Waits for at-least-once acknowledgements to land: the admin API lists nothing held for a key.
import assert from 'node:assert/strict';
import type { GatewayProcess } from '../helpers/gateway.js';

/** Polls GET /?key=K until it is empty (an acknowledgement removes the stored copy asynchronously). */
export async function untilNothingHeld(gw: GatewayProcess, key: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const listed = await gw.request('GET', `/?key=${encodeURIComponent(key)}`);
    assert.equal(listed.status, 200);
    if ((listed.json as unknown[]).length === 0) return;
    if (Date.now() > deadline) assert.fail(`still held for ${key} after ${timeoutMs} ms: ${listed.text}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
