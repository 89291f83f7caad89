// The Redis broker against the Broker contract: two gateway processes on the shared Redis under a
// prefix of this run's own (startCluster), so every scenario publishes on a socket's own node and on
// the other. What only Redis has (a node's death, Redis going away, Cluster, Sentinel, TLS) is tested
// in test/cluster.
import { brokerContract } from './broker.contract.js';
import { twoNodes } from '../helpers/deployment.js';

brokerContract('Redis (two nodes)', { deliveredCountsPerKey: true, start: twoNodes });
