// The memory control plane against the ControlPlane contract: one gateway process, no Redis.
import { controlContract } from './control.contract.js';
import { oneNode } from '../helpers/deployment.js';

controlContract('memory (one node)', { start: oneNode });
