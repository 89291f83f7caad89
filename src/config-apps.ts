// Apps: WS_CONFIG's `apps:` mapping, several tenants on one gateway, each with its own client auth,
// publisher credentials, origins and limits (the settings in APP_SETTINGS, written as their
// variables' names lower-cased without `WS_`). Everything else is the gateway's and stays at the top
// level. The environment-only configuration is app `default`; `apps.default`, when given, overrides
// the environment's settings for it setting by setting. Every other app starts from the built-in
// defaults, never from the environment: an app given no credentials must not inherit another's.
import { APP_NAME } from './delivery/address.js';
import { DEFAULT_APP } from './socket/connection.js';
import { ConfigError, DEFAULTS, loadConfig, type Config, type ConfigName } from './config.js';
import { scalarText, type Sources } from './config-sources.js';

/** The settings an app may set: client auth, tickets' lifetime, publisher auth, origins and limits. */
export const APP_SETTINGS: readonly ConfigName[] = [
  'WS_AUTH_MODE', 'WS_AUTH_URL', 'WS_AUTHORIZER', 'WS_AUTH_TIMEOUT', 'WS_AUTH_FORWARD_HEADERS',
  'WS_AUTH_CACHE_TTL', 'WS_AUTH_CACHE_NEGATIVE_TTL', 'WS_AUTH_CACHE_MAX', 'WS_AUTH_EXPORTER',
  'WS_JWT_SECRET', 'WS_JWT_PUBLIC_KEY', 'WS_JWT_JWKS_URL', 'WS_JWT_JWKS_TIMEOUT', 'WS_JWT_JWKS_COOLDOWN',
  'WS_JWT_ALGORITHMS', 'WS_JWT_AUDIENCE', 'WS_JWT_ISSUER', 'WS_JWT_LEEWAY', 'WS_JWT_REQUIRE_EXP', 'WS_JWT_COOKIE',
  'WS_TICKET_TTL',
  'WS_LOGIN', 'WS_PASSWORD', 'WS_INSECURE_NO_AUTH', 'WS_PUBLISH_AUTH', 'WS_PUBLISH_TOKENS', 'WS_HMAC_SECRET', 'WS_HMAC_TOLERANCE',
  'WS_ALLOWED_ORIGINS',
  'WS_MAX_CONNECTIONS', 'WS_MAX_BODY', 'WS_MAX_BATCH', 'WS_MSG_EXPIRE',
];
const APP_SETTING_SET: ReadonlySet<string> = new Set(APP_SETTINGS);

export interface AppConfig {
  /** APP_NAME; `default` for the environment's app. */
  readonly name: string;
  /** The whole configuration as this app sees it: its own APP_SETTINGS, the gateway's for the rest. */
  readonly config: Config;
}

export interface Gateway {
  /** The default app's configuration, which is also the gateway's (port, Redis, limits, ...). */
  readonly config: Config;
  /** Every app, `default` first. */
  readonly apps: readonly AppConfig[];
}

/** Reads the gateway's configuration and its apps; throws one ConfigError listing every problem,
 * each naming the app and setting (`apps.blue.jwt_secret ...`). */
export function loadApps(sources: Pick<Sources, 'values' | 'apps'>): Gateway {
  const problems: string[] = [];
  const declared = readDeclared(sources.apps, problems);
  const defaultSettings = declared.get(DEFAULT_APP) ?? {};
  const gatewayValues = Object.fromEntries(Object.entries(sources.values).filter(([name]) => !APP_SETTING_SET.has(name)));

  /** `own`: the settings the app's entry gave ('all': every app setting is the entry's or a default). */
  const load = (name: string, env: Record<string, string>, own: Readonly<Record<string, string>> | 'all'): Config | undefined => {
    try {
      return loadConfig(env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const problem of err.problems) {
        const named = hinted(renamed(problem, name, own), name, own, declared.size > 0);
        if (!problems.includes(named)) problems.push(named);
      }
      return undefined;
    }
  };

  const config = load(DEFAULT_APP, { ...sources.values, ...defaultSettings }, defaultSettings);
  const apps: AppConfig[] = config === undefined ? [] : [{ name: DEFAULT_APP, config }];
  for (const [name, settings] of declared) {
    if (name === DEFAULT_APP) continue;
    const appConfig = load(name, { ...gatewayValues, ...settings }, 'all');
    if (appConfig !== undefined) apps.push({ name, config: appConfig });
  }
  if (problems.length > 0 || config === undefined) throw new ConfigError(problems);
  return { config, apps };
}

/** `apps:` as app name -> its settings by variable name, with every malformed part reported. */
function readDeclared(apps: unknown, problems: string[]): Map<string, Record<string, string>> {
  const declared = new Map<string, Record<string, string>>();
  if (apps === undefined || apps === null) return declared;
  if (typeof apps !== 'object' || Array.isArray(apps)) {
    problems.push('WS_CONFIG: apps must be a mapping of app names to their settings, such as apps: {blue: {auth_mode: jwt, jwt_secret: ...}}');
    return declared;
  }
  for (const [name, entry] of Object.entries(apps as Record<string, unknown>)) {
    if (!APP_NAME.test(name)) {
      problems.push(`apps.${JSON.stringify(name.slice(0, 100))}: an app name is 1 to 64 lower-case letters, digits, "-" and "_", starting with a letter or digit (it appears in /apps/{app}/ URLs)`);
      continue;
    }
    if (entry !== null && (typeof entry !== 'object' || Array.isArray(entry))) {
      problems.push(`apps.${name} must be a mapping of settings, such as {auth_mode: jwt, jwt_secret: ...}`);
      continue;
    }
    const settings: Record<string, string> = {};
    for (const [key, value] of Object.entries((entry ?? {}) as Record<string, unknown>)) {
      const variable = `WS_${key.toUpperCase()}`;
      if (key !== key.toLowerCase() || !APP_SETTING_SET.has(variable)) {
        problems.push(Object.hasOwn(DEFAULTS, variable) && key === key.toLowerCase()
          ? `apps.${name}.${key}: a gateway-wide setting (${variable}); set it at the top level, not per app`
          : `apps.${name}: unknown setting ${JSON.stringify(key.slice(0, 100))}; an app takes ${APP_SETTINGS.map(settingName).join(', ')}`);
        continue;
      }
      const text = scalarText(value);
      if (text === undefined) problems.push(`apps.${name}.${key} must be a value or a list of values`);
      else settings[variable] = text;
    }
    declared.set(name, settings);
  }
  return declared;
}

/** An app setting's name in `apps:`: its variable's, lower-cased, without `WS_`. */
export function settingName(variable: string): string {
  return variable.slice(3).toLowerCase();
}

/** A problem as loadConfig words it, with the app's own settings named as they are written in
 * `apps:` (`WS_LOGIN` -> `apps.blue.login`); the environment's names stay for the rest. */
function renamed(problem: string, app: string, own: Readonly<Record<string, string>> | 'all'): string {
  return problem.replace(/\bWS_[A-Z_]+\b/g, (variable) => (APP_SETTING_SET.has(variable) && (own === 'all' || variable in own) ? `apps.${app}.${settingName(variable)}` : variable));
}

/** With apps in WS_CONFIG, a default-app problem about an app setting the environment left unset or
 * wrong also names the file's way to set it (`apps.default.auth_url`): the YAML user may not know
 * app `default` still reads the environment. */
function hinted(problem: string, app: string, own: Readonly<Record<string, string>> | 'all', hasApps: boolean): string {
  if (app !== DEFAULT_APP || own === 'all' || !hasApps) return problem;
  const variable = /^WS_[A-Z_]+\b/.exec(problem)?.[0];
  if (variable === undefined || !APP_SETTING_SET.has(variable) || variable in own) return problem;
  return `${problem} (app default reads it from the environment, or set apps.default.${settingName(variable)} in WS_CONFIG)`;
}
