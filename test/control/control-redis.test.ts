// The Redis control plane against the ControlPlane contract: two gateway processes on the shared
// Redis under a prefix of this run's own. A node that does not answer is in test/cluster/control.test.ts.
import { controlContract } from './control.contract.js';
import { twoNodes } from '../helpers/deployment.js';

controlContract('Redis (two nodes)', { start: twoNodes });
