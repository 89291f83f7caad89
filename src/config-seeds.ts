// The seed protocols' listeners: dSock, Driplet, notiflux and Philote, each on a port of
// its own. A listener is on when its port is set; its other required settings are then required.
// Kept apart from config.ts, which calls readSeedListeners with its readers so every problem is
// reported together (exit 2).
import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type { Readers } from './config-auth.js';
import type { ConfigName } from './config.js';
import { readPublicKey } from './identity/jwt-keys.js';
import { parseDripletConfig, type DripletConfig } from './protocols/driplet/config.js';

export interface DsockListener {
  readonly port: number;
  /** WS_DSOCK_TOKEN: the API token (`token` query parameter or `Authorization: Bearer`). */
  readonly token: string;
  /** WS_DSOCK_JWT_SECRET: enables `/connect?jwt=`; undefined when unset. */
  readonly jwtSecret: string | undefined;
}

export interface DripletListener {
  readonly port: number;
  /** WS_DRIPLET_CONFIG as given. */
  readonly configPath: string;
  /** The file, read as Driplet reads it, with its DRIPLET_* overrides applied. */
  readonly config: DripletConfig;
}

export interface NotifluxListener {
  readonly port: number;
  /** WS_NOTIFLUX_JWT_PUBLIC_KEY_B64, parsed: an EC P-256 key (notiflux verifies ES256 only). */
  readonly publicKey: KeyObject;
}

export interface PhiloteListener {
  readonly port: number;
  readonly secret: string;
  /** WS_PHILOTE_MAX_CONNECTIONS: open connections this listener allows at once. */
  readonly maxConnections: number;
  /** WS_PHILOTE_CHECK_ORIGIN: an upgrade's Origin must name the Host it was sent to (Philote's check). */
  readonly checkOrigin: boolean;
}

/** Each listener is undefined when its port is unset. */
export interface SeedListeners {
  readonly dsock: DsockListener | undefined;
  readonly driplet: DripletListener | undefined;
  readonly notiflux: NotifluxListener | undefined;
  readonly philote: PhiloteListener | undefined;
}

/** The variables and their defaults, merged into config.ts's DEFAULTS (and README's table). */
export const SEED_DEFAULTS = {
  WS_DSOCK_PORT: '',
  WS_DSOCK_TOKEN: '',
  WS_DSOCK_JWT_SECRET: '',
  WS_DRIPLET_PORT: '',
  WS_DRIPLET_CONFIG: '',
  WS_NOTIFLUX_PORT: '',
  WS_NOTIFLUX_JWT_PUBLIC_KEY_B64: '',
  WS_PHILOTE_PORT: '',
  WS_PHILOTE_SECRET: '',
  WS_PHILOTE_MAX_CONNECTIONS: '255',
  WS_PHILOTE_CHECK_ORIGIN: 'false',
} as const;

/** The listeners' port variables: any of them set, a deployment may run without the main app. */
export const SEED_PORTS = ['WS_DSOCK_PORT', 'WS_DRIPLET_PORT', 'WS_NOTIFLUX_PORT', 'WS_PHILOTE_PORT'] as const;

/** Secrets: a problem with one of them never shows its value. */
export const SEED_SECRETS: readonly string[] = ['WS_DSOCK_TOKEN', 'WS_DSOCK_JWT_SECRET', 'WS_PHILOTE_SECRET'];

const MAX_PHILOTE_CONNECTIONS = 10_000_000;

/** Reads the four listeners; `otherPorts` are the ports already taken (WS_PORT, WS_METRICS_PORT),
 * which a listener may not share. Problems go into `r.problems`; `read` reads the Driplet file. */
export function readSeedListeners(r: Readers, otherPorts: readonly { name: string; port: number | undefined }[], read: (path: string) => string = (p) => readFileSync(p, 'utf8')): SeedListeners {
  const { raw, bad } = r;
  const taken = otherPorts.filter((p) => p.port !== undefined && p.port !== 0);
  const port = (name: ConfigName): number | undefined => {
    const text = raw(name);
    if (text === '') return undefined;
    const n = Number(text);
    if (!/^\d+$/.test(text) || n > 65535) return bad(name, 'a port, a whole number from 0 to 65535 (or unset: the listener is off)', 0);
    const clash = taken.find((p) => p.port === n);
    if (clash !== undefined) return bad(name, `a port other than ${clash.name}'s`, n);
    if (n !== 0) taken.push({ name, port: n });
    return n;
  };
  const required = (name: ConfigName, listener: ConfigName, what: string): string => {
    const text = raw(name);
    return text === '' ? bad(name, `${what} (${listener} is set)`, '') : text;
  };

  const dsockPort = port('WS_DSOCK_PORT');
  const dsock = dsockPort === undefined ? undefined : {
    port: dsockPort,
    token: required('WS_DSOCK_TOKEN', 'WS_DSOCK_PORT', 'the API token backends call dSock\'s API with'),
    jwtSecret: raw('WS_DSOCK_JWT_SECRET') === '' ? undefined : raw('WS_DSOCK_JWT_SECRET'),
  };

  const dripletPort = port('WS_DRIPLET_PORT');
  let driplet: DripletListener | undefined;
  if (dripletPort !== undefined) {
    const configPath = required('WS_DRIPLET_CONFIG', 'WS_DRIPLET_PORT', 'the path of Driplet\'s config.toml');
    const config = configPath === '' ? undefined : readDriplet(configPath, r, read);
    if (config !== undefined) driplet = { port: dripletPort, configPath, config };
  }

  const notifluxPort = port('WS_NOTIFLUX_PORT');
  let notiflux: NotifluxListener | undefined;
  if (notifluxPort !== undefined) {
    const text = required('WS_NOTIFLUX_JWT_PUBLIC_KEY_B64', 'WS_NOTIFLUX_PORT', 'the base64 of the PEM public key notiflux tokens are verified with');
    const key = text === '' ? undefined : readPublicKey(text);
    if (key !== undefined && 'problem' in key) bad('WS_NOTIFLUX_JWT_PUBLIC_KEY_B64', key.problem, 0);
    else if (key !== undefined && !key.algorithms.includes('ES256')) bad('WS_NOTIFLUX_JWT_PUBLIC_KEY_B64', 'an EC P-256 public key (notiflux verifies ES256 only)', 0);
    else if (key !== undefined) notiflux = { port: notifluxPort, publicKey: key.key };
  }

  const philotePort = port('WS_PHILOTE_PORT');
  const maxText = raw('WS_PHILOTE_MAX_CONNECTIONS');
  const maxConnections = /^\d+$/.test(maxText) && Number(maxText) >= 1 && Number(maxText) <= MAX_PHILOTE_CONNECTIONS
    ? Number(maxText) : bad('WS_PHILOTE_MAX_CONNECTIONS', `a whole number from 1 to ${MAX_PHILOTE_CONNECTIONS}`, 255);
  const checkOrigin = r.bool('WS_PHILOTE_CHECK_ORIGIN');
  const philote = philotePort === undefined ? undefined : {
    port: philotePort,
    secret: required('WS_PHILOTE_SECRET', 'WS_PHILOTE_PORT', 'the secret Philote access keys (JWTs) are signed with'),
    maxConnections,
    checkOrigin,
  };

  return { dsock, driplet, notiflux, philote };
}

function readDriplet(path: string, r: Readers, read: (path: string) => string): DripletConfig | undefined {
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    // Driplet wrote a default file with known secrets here; Octoway refuses to start instead.
    const code = (err as NodeJS.ErrnoException).code;
    r.problems.push(`WS_DRIPLET_CONFIG=${JSON.stringify(path)}: cannot read the file (${code ?? 'error'}); expected Driplet's config.toml`);
    return undefined;
  }
  const parsed = parseDripletConfig(text, r.env);
  if ('problems' in parsed) {
    for (const problem of parsed.problems) r.problems.push(`WS_DRIPLET_CONFIG=${JSON.stringify(path)}: ${problem}`);
    return undefined;
  }
  return parsed;
}
