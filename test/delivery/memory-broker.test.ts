// The memory broker against the Broker contract: one gateway process, no Redis.
import { brokerContract } from './broker.contract.js';
import { oneNode } from '../helpers/deployment.js';

brokerContract('memory (one node)', { deliveredCountsPerKey: false, start: oneNode });
