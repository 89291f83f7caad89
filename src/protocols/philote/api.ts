// Philote's one API route (hive.go's ServeAPICall), open to a key with `api: true` on any path
// starting with /api: `GET /api/info` answers its hiveInfo (json.Marshal of a struct: fields in
// this order, no newline); any other method or /api path answers 420 with an empty body. A key
// without `api` on an /api path is treated as an upgrade like every other path.
import { goString } from '../go-json.js';

export interface PhiloteInfo {
  readonly version: string;
  readonly goArch: string;
  readonly goOs: string;
  readonly goVersion: string;
  readonly numCpu: number;
  readonly uptimeSeconds: number;
  readonly tcpPort: string;
  readonly pid: number;
  readonly connections: number;
  readonly maxConnections: number;
  readonly readBufferSize: number;
  readonly writeBufferSize: number;
  readonly checkOrigin: boolean;
}

export type PhiloteApiRoute = 'info' | 'other';

/** Which API answer a request with an `api` key gets; undefined: not an API path (upgrade). */
export function apiRoute(method: string, path: string): PhiloteApiRoute | undefined {
  if (!path.startsWith('/api')) return undefined;
  return method === 'GET' && path === '/api/info' ? 'info' : 'other';
}

/** Philote's answer to any other /api request (sic: 420). */
export const API_OTHER = Object.freeze({ status: 420, body: '' });

export function infoBody(info: PhiloteInfo): string {
  return `{"version":${goString(info.version)},"go_arch":${goString(info.goArch)},"go_os":${goString(info.goOs)},`
    + `"go_version":${goString(info.goVersion)},"num_cpu":${info.numCpu},"uptime_in_seconds":${info.uptimeSeconds},`
    + `"uptime_in_days":${Math.floor(info.uptimeSeconds / 86_400)},"tcp_port":${goString(info.tcpPort)},"pid":${info.pid},`
    + `"connections":${info.connections},"max_connections":${info.maxConnections},"read_buffer_size":${info.readBufferSize},`
    + `"write_buffer_size":${info.writeBufferSize},"check_origin":${info.checkOrigin}}`;
}
