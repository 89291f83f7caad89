// The in-memory held store against the HeldStore contract.
import { MemoryStore } from '../../src/delivery/memory-store.js';
import { createLogger } from '../../src/log.js';
import { heldStoreContract } from './held-store.contract.js';

heldStoreContract('MemoryStore', async ({ maxHeldPerKey }) => {
  const store = new MemoryStore({ maxHeld: 10_000, maxHeldPerKey, sweepIntervalMs: 50 }, createLogger('silent'));
  return { store, close: () => store.close() };
});
