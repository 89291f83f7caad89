// A Driplet config.toml read as Driplet reads it (viper over go-toml): `[Global]` and
// `[Endpoints.NAME]` tables whose keys are case-insensitive, every key lower-cased (so an endpoint's
// URL name is its table name in lower case), and an environment override for every key the file
// (or Global's defaults) has: DRIPLET_ + the dotted key path upper-cased with dots as underscores,
// such as DRIPLET_ENDPOINTS_WEB_APISECRET or DRIPLET_GLOBAL_PORT; an empty variable overrides nothing.
// Deliberate differences, each a start-up error instead of a server that accepts anyone: a missing
// file (Driplet wrote one with the secrets "change-this-…"), no endpoint, an empty secret.
import { parse as parseToml } from 'smol-toml';

export interface DripletEndpoint {
  /** The key the endpoint is found by in URLs (`/ws/{name}`, `/api/{name}/…`): the table name, lower-cased. */
  readonly name: string;
  /** The `Name` field as written (Driplet only displays it). */
  readonly displayName: string;
  readonly apiSecret: string;
  readonly jwtSecret: string;
}

export interface DripletConfig {
  /** [Global] as Driplet reads it; Octoway listens on WS_DRIPLET_PORT, not on these. */
  readonly global: { readonly bindAddress: string; readonly port: number; readonly logFile: string; readonly logLevel: string };
  readonly endpoints: ReadonlyMap<string, DripletEndpoint>;
}

type Env = Readonly<Record<string, string | undefined>>;
type Table = Record<string, unknown>;

/** Driplet's defaults for [Global] (its config.go); the only keys it knows without the file. */
const GLOBAL_DEFAULTS: Readonly<Record<string, unknown>> = { bindaddress: '0.0.0.0', port: 4719, logfile: '', loglevel: 'normal' };

/** Parses the file's `text` with `env`'s overrides; the problems say what is wrong, naming keys
 * and variables but never a secret's value. */
export function parseDripletConfig(text: string, env: Env): DripletConfig | { readonly problems: readonly string[] } {
  let document: Table;
  try {
    document = lowerKeys(parseToml(text)) as Table;
  } catch (err) {
    return { problems: [`not valid TOML: ${(err as Error).message.split('\n')[0]}`] };
  }
  const problems: string[] = [];
  const globalTable = document.global ?? {};
  if (!isTable(globalTable)) return { problems: ['[Global] must be a table'] };
  const global = { ...GLOBAL_DEFAULTS, ...globalTable };
  applyEnv(global, 'global', env);
  const endpointsTable = document.endpoints ?? {};
  if (!isTable(endpointsTable)) return { problems: ['[Endpoints] must be a table of [Endpoints.NAME] tables'] };
  const endpoints = new Map<string, DripletEndpoint>();
  for (const [name, value] of Object.entries(endpointsTable)) {
    if (!isTable(value)) {
      problems.push(`Endpoints.${name} must be a table with Name, APISecret and JWTSecret`);
      continue;
    }
    if (name.includes('\u0000')) {
      // Octoway's addresses separate names with NUL: an endpoint named with one could not be kept apart.
      problems.push(`Endpoints.${JSON.stringify(name)}: an endpoint name may not contain NUL`);
      continue;
    }
    const fields: Table = { ...value };
    applyEnv(fields, `endpoints.${name}`, env);
    const apiSecret = goString(fields.apisecret, `Endpoints.${name}.APISecret`, problems);
    const jwtSecret = goString(fields.jwtsecret, `Endpoints.${name}.JWTSecret`, problems);
    const displayName = goString(fields.name, `Endpoints.${name}.Name`, problems);
    const envName = envVariable(`endpoints.${name}`);
    if (apiSecret === '' && !isTable(fields.apisecret) && !Array.isArray(fields.apisecret)) problems.push(`Endpoints.${name}.APISecret is empty (or unset): expected the secret publishers sign with (or ${envName}_APISECRET)`);
    if (jwtSecret === '' && !isTable(fields.jwtsecret) && !Array.isArray(fields.jwtsecret)) problems.push(`Endpoints.${name}.JWTSecret is empty (or unset): expected the secret client tokens are signed with (or ${envName}_JWTSECRET)`);
    endpoints.set(name, { name, displayName, apiSecret, jwtSecret });
  }
  if (endpoints.size === 0 && problems.length === 0) problems.push('no [Endpoints.NAME] table: expected at least one endpoint');
  const port = goInt(global.port, 'Global.Port', problems);
  if (problems.length > 0) return { problems };
  return {
    global: {
      bindAddress: goString(global.bindaddress, 'Global.BindAddress', problems),
      port,
      logFile: goString(global.logfile, 'Global.LogFile', problems),
      logLevel: goString(global.loglevel, 'Global.LogLevel', problems),
    },
    endpoints,
  };
}

/** viper's key for `path` as an environment variable: DRIPLET_ + upper case, dots as underscores. */
export function envVariable(path: string): string {
  return `DRIPLET_${path.toUpperCase().replace(/\./g, '_')}`;
}

/** Overrides each key `table` has with its variable, when that is set and not empty (viper's
 * AutomaticEnv without AllowEmptyEnv). Only keys already present: viper looks up the keys it knows. */
function applyEnv(table: Table, path: string, env: Env): void {
  for (const key of Object.keys(table)) {
    if (isTable(table[key])) continue;
    const value = env[envVariable(`${path}.${key}`)];
    if (value !== undefined && value !== '') table[key] = value;
  }
}

/** Lower-cases every key, as viper does (a later key wins where two differ only in case). */
function lowerKeys(value: unknown): unknown {
  if (!isTable(value)) return value;
  const out: Table = {};
  for (const [key, inner] of Object.entries(value)) {
    const lower = key.toLowerCase();
    const merged = lowerKeys(inner);
    const before = out[lower];
    out[lower] = isTable(before) && isTable(merged) ? { ...before, ...merged } : merged;
  }
  return out;
}

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** mapstructure's weak decoding into a Go string: numbers and booleans convert ("1"/"0" for a
 * boolean), a missing key is "", anything else is an error. */
function goString(value: unknown, key: string, problems: string[]): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  problems.push(`${key} must be a string`);
  return '';
}

/** mapstructure's weak decoding into a Go int: a whole number, or a string holding one. */
function goInt(value: unknown, key: string, problems: string[]): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^[+-]?\d+$/.test(value.trim())) return Number(value.trim());
  if (typeof value === 'boolean') return value ? 1 : 0;
  problems.push(`${key} must be a whole number`);
  return 0;
}
