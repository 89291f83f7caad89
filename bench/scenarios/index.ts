// The scenario registry, in the order `npm run bench` runs them.
import { batch } from './batch.js';
import { connect } from './connect.js';
import { connectTicket } from './connect-ticket.js';
import { connectJwt } from './connect-jwt.js';
import { fanout } from './fanout.js';
import { fanoutCompress } from './fanout-compress.js';
import { fanoutRedis } from './fanout-redis.js';
import { fanoutPattern } from './fanout-pattern.js';
import { fanoutFilter } from './fanout-filter.js';
import { fanoutPhilote } from './fanout-philote.js';
import { fanoutDsock } from './fanout-dsock.js';
import { sendDsock } from './send-dsock.js';
import { fanoutTopic } from './fanout-topic.js';
import { fanoutV2 } from './fanout-v2.js';
import { heldMem } from './held-mem.js';
import { idleMem } from './idle-mem.js';
import { offline } from './offline.js';
import { reconnectStorm } from './reconnect-storm.js';
import { scale } from './scale.js';
import type { Scenario } from './types.js';
import { unicast } from './unicast.js';
import { unicastAuth } from './unicast-auth.js';

export const SCENARIOS: readonly Scenario[] = [fanout, fanoutPattern, fanoutFilter, fanoutTopic, fanoutV2, fanoutPhilote, fanoutDsock, sendDsock, fanoutRedis, fanoutCompress, unicast, unicastAuth, batch, connect, connectTicket, connectJwt, idleMem, scale, offline, reconnectStorm, heldMem];

export function scenarioByName(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (s === undefined) throw new Error(`unknown scenario "${name}" (known: ${SCENARIOS.map((x) => x.name).join(', ')})`);
  return s;
}
