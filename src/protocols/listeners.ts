// The seed listeners this node runs (config-seeds.ts: each on when its port is set), started after
// the main listener and stopped with it. A new protocol adds one line here and its own
// protocols/<seed>/listener.ts returning a ListenerSpec.
import type { SeedListeners } from '../config-seeds.js';
import { startListener, type ListenerContext, type ListenerSpec, type SeedListener } from './listener.js';
import { dripletListener } from './driplet/listener.js';
import { dsockListener } from './dsock/listener.js';
import { notifluxListener } from './notiflux/listener.js';
import { philoteListener } from './philote/listener.js';

export async function startSeedListeners(seeds: SeedListeners, context: ListenerContext): Promise<SeedListener[]> {
  const specs: ListenerSpec[] = [];
  if (seeds.dsock !== undefined) specs.push(dsockListener(seeds.dsock, context));
  if (seeds.philote !== undefined) specs.push(philoteListener(seeds.philote, context));
  if (seeds.notiflux !== undefined) specs.push(notifluxListener(seeds.notiflux, context));
  if (seeds.driplet !== undefined) specs.push(dripletListener(seeds.driplet, context));
  const started: SeedListener[] = [];
  try {
    for (const spec of specs) started.push(await startListener(spec, context));
  } catch (err) {
    // A port in use stops the start: the listeners already up must not outlive it.
    for (const listener of started) listener.close();
    throw err;
  }
  return started;
}
