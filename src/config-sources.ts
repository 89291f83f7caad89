// Where settings come from: Goctopus's command-line flags, a YAML file (WS_CONFIG or --config) and
// the environment, merged into one map of variable names for loadConfig. Precedence, as Goctopus
// has it: flag > file > environment > default. Goctopus's alias names become Octoway's here.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, DEFAULTS } from './config.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Goctopus's flags (its main.go) and the variable each sets. */
export const FLAGS: Readonly<Record<string, string>> = {
  host: 'WS_HOST', port: 'WS_PORT', workers: 'WS_WORKERS', expire: 'WS_MSG_EXPIRE',
  login: 'WS_LOGIN', password: 'WS_PASSWORD', auth: 'WS_AUTH_URL', verbose: 'WS_VERBOSE',
  'log-format': 'WS_LOG_FORMAT', storage: 'WS_STORAGE', authorizer: 'WS_AUTHORIZER',
  'insecure-no-auth': 'WS_INSECURE_NO_AUTH', 'auth-timeout': 'WS_AUTH_TIMEOUT', 'auth-cache-ttl': 'WS_AUTH_CACHE_TTL',
  'sweep-interval': 'WS_SWEEP_INTERVAL', 'ping-interval': 'WS_PING_INTERVAL', 'read-timeout': 'WS_READ_TIMEOUT',
  'write-timeout': 'WS_WRITE_TIMEOUT', 'reconcile-interval': 'WS_RECONCILE_INTERVAL',
  'history-size': 'WS_HISTORY_SIZE', 'history-ttl': 'WS_HISTORY_TTL', 'redis-url': 'WS_REDIS_URL',
  'redis-key-ttl': 'WS_REDIS_KEY_TTL', 'tls-cert': 'WS_TLS_CERT', 'tls-key': 'WS_TLS_KEY',
  'allowed-origins': 'WS_ALLOWED_ORIGINS', 'max-message-size': 'WS_MAX_MESSAGE_SIZE', compress: 'WS_COMPRESS',
  'rate-limit': 'WS_RATE_LIMIT', 'rate-burst': 'WS_RATE_BURST', 'trust-proxy-headers': 'WS_TRUST_PROXY_HEADERS',
  config: 'WS_CONFIG',
};

/** Goctopus's names for settings Octoway has under its own name. Within one source Octoway's name
 * wins; across sources the higher source wins, whichever name it used. */
export const ALIASES: Readonly<Record<string, string>> = {
  WS_MAX_MESSAGE_SIZE: 'WS_MAX_BODY',
  WS_READ_TIMEOUT: 'WS_IDLE_TIMEOUT',
};

export interface Sources {
  /** Every setting given, by variable name (aliases resolved): what loadConfig reads. */
  readonly values: Readonly<Record<string, string>>;
  /** `--healthcheck`: probe the running gateway and exit instead of starting. */
  readonly healthcheck: boolean;
  /** `--help`/`-h`: print the flags and exit. */
  readonly help: boolean;
  /** The file's `apps:` mapping as written, read by config-apps.ts; undefined when absent. */
  readonly apps?: unknown;
}

/** Merges flags (`argv`, without node and the script), the YAML file they or `env` name, and `env`.
 * Throws one ConfigError listing every problem: an unknown flag or file key, a missing value, an
 * unreadable or malformed file. */
export function readSources(argv: readonly string[], env: Env, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): Sources {
  const problems: string[] = [];
  const flags = parseFlags(argv, problems);
  const fromEnv = canonical(Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)));
  const file = flags.values.WS_CONFIG ?? fromEnv.WS_CONFIG;
  const apps: { value?: unknown } = {};
  const fromFile = file === undefined || file.trim() === '' ? {} : readYaml(file.trim(), read, problems, apps);
  if (problems.length > 0) throw new ConfigError(problems);
  return { values: { ...fromEnv, ...canonical(fromFile), ...canonical(flags.values) }, healthcheck: flags.healthcheck, help: flags.help, apps: apps.value };
}

/** Go's flag syntax: `-name value`, `--name value`, `-name=value`; `--healthcheck` alone (a bool);
 * parsing stops at `--` or the first argument that is not a flag, as Go's does. */
function parseFlags(argv: readonly string[], problems: string[]): { values: Record<string, string>; healthcheck: boolean; help: boolean } {
  const values: Record<string, string> = {};
  let healthcheck = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--' || !arg.startsWith('-') || arg === '-') break;
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    if (name === 'healthcheck') {
      healthcheck = inline === undefined || ['true', '1'].includes(inline.toLowerCase());
      continue;
    }
    if (name === 'h' || name === 'help') {
      help = true;
      continue;
    }
    const variable = FLAGS[name];
    if (variable === undefined) {
      problems.push(`unknown flag ${JSON.stringify(arg.slice(0, 100))}; Goctopus's flags are ${Object.keys(FLAGS).map((f) => `--${f}`).join(', ')}, --healthcheck`);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) problems.push(`flag --${name} needs a value`);
    else values[variable] = value;
  }
  return { values, healthcheck, help };
}

/** The file's settings by variable name. Keys are Goctopus's flag names or variable names; a list
 * becomes a comma-separated value, as Goctopus's own loader does. `apps` is kept as written, in
 * `apps.value`, for config-apps.ts. */
function readYaml(path: string, read: (path: string) => string, problems: string[], apps: { value?: unknown }): Record<string, string> {
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    problems.push(`WS_CONFIG ${path} cannot be read: ${(err as Error).message}`);
    return {};
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (err) {
    problems.push(`WS_CONFIG ${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    return {};
  }
  if (document === null || document === undefined) return {};
  if (typeof document !== 'object' || Array.isArray(document)) {
    problems.push(`WS_CONFIG ${path} must be a mapping of setting names to values`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(document as Record<string, unknown>)) {
    if (key === 'apps') {
      apps.value = value;
      continue;
    }
    const variable = FLAGS[key] ?? (isVariable(key) ? key : undefined);
    if (variable === undefined) {
      problems.push(`WS_CONFIG ${path}: unknown key ${JSON.stringify(key)}; keys are Goctopus's flag names (such as port, redis-url) or Octoway's variable names (such as WS_PORT)`);
      continue;
    }
    const text = scalarText(value);
    if (text === undefined) problems.push(`WS_CONFIG ${path}: ${key} must be a value or a list of values`);
    else out[variable] = text;
  }
  return out;
}

export function scalarText(value: unknown): string | undefined {
  if (value === null) return '';
  if (Array.isArray(value)) {
    const parts = value.map(scalarText);
    return parts.every((p) => p !== undefined) ? parts.join(',') : undefined;
  }
  return ['string', 'number', 'boolean'].includes(typeof value) ? String(value) : undefined;
}

function isVariable(name: string): boolean {
  return Object.hasOwn(DEFAULTS, name) || Object.hasOwn(ALIASES, name) || Object.values(FLAGS).includes(name);
}

/** One source's settings with Goctopus's alias names turned into Octoway's (unless the source also
 * gives Octoway's name, which wins). */
function canonical(values: Record<string, string>): Record<string, string> {
  const out = { ...values };
  for (const [alias, name] of Object.entries(ALIASES)) {
    const value = out[alias];
    if (value === undefined) continue;
    delete out[alias];
    if (out[name] === undefined || out[name].trim() === '') out[name] = value;
  }
  return out;
}

/** `--help`: the flags and the variables they set. */
export function usage(): string {
  const lines = Object.entries(FLAGS).map(([flag, variable]) => `  --${flag.padEnd(20)} ${variable}`);
  return ['Usage: octoway [flags]   (Goctopus\'s flags; each sets the variable beside it, and wins over the environment and WS_CONFIG)',
    ...lines, `  --${'healthcheck'.padEnd(20)} probe /healthz on WS_PORT and exit 0 (healthy) or 1`, ''].join('\n');
}
