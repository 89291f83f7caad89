// The auth part of the configuration: WS_AUTH_MODE, the publisher modes (WS_PUBLISH_AUTH and their
// settings) and JWT verification (WS_JWT_*). Kept apart from config.ts, which reads everything else,
// so each stays readable; config.ts calls these with its readers and reports every problem together.
import type { KeyObject } from 'node:crypto';
import { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS, isHmacAlgorithm, KNOWN_ALGORITHMS, readPublicKey } from './identity/jwt-keys.js';
import type { ConfigName } from './config.js';

/** config.ts's readers: each reports a bad value into the shared problem list and returns a fallback. */
export interface Readers {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly problems: string[];
  raw(name: ConfigName): string;
  bad<T>(name: ConfigName, expected: string, fallback: T): T;
  duration(name: ConfigName, minMs?: number, max?: { ms: number; text: string }): number;
  bool(name: ConfigName): boolean;
  list(name: ConfigName): string[];
}

/** JWT verification, shared by every mode that takes a JWT. At least one key source is set. */
export interface JwtSettings {
  /** WS_JWT_SECRET as bytes (HS256/384/512). */
  readonly secret: Uint8Array | undefined;
  /** WS_JWT_PUBLIC_KEY, parsed. */
  readonly publicKey: KeyObject | undefined;
  readonly jwksUrl: URL | undefined;
  readonly jwksTimeoutMs: number;
  /** Least time between two JWKS fetches caused by an unknown `kid`. */
  readonly jwksCooldownMs: number;
  /** The allow-list; every one of them has a configured key that can verify it. */
  readonly algorithms: readonly string[];
  /** Accepted `aud` values (any one matches); empty: `aud` is not checked. */
  readonly audience: readonly string[];
  /** Accepted `iss` values; empty: `iss` is not checked. */
  readonly issuer: readonly string[];
  readonly leewayMs: number;
  readonly requireExp: boolean;
}

export type PublishAuthMode = 'basic' | 'bearer' | 'hmac' | 'jwt';
export const PUBLISH_AUTH_MODES: readonly PublishAuthMode[] = ['basic', 'bearer', 'hmac', 'jwt'];

export interface PublishAuthSettings {
  /** A request is accepted when any of these accepts it. */
  readonly modes: readonly PublishAuthMode[];
  /** WS_PUBLISH_TOKENS (bearer). */
  readonly tokens: readonly string[];
  /** WS_HMAC_SECRET: every one is accepted (two during a rotation). */
  readonly hmacSecrets: readonly string[];
  readonly hmacToleranceMs: number;
}

/** How an upgrade may authenticate: forward auth (WS_AUTH_URL), a local JWT, a single-use ticket. */
export type AuthMode = 'forward' | 'jwt' | 'ticket';
export const AUTH_MODES: readonly AuthMode[] = ['forward', 'jwt', 'ticket'];

/** Publish tokens and HMAC secrets are guessed offline or online; 16 characters is the least that
 * a random one needs to stand that (a JWT secret is not bounded: the seeds' own secrets carry over). */
const MIN_SECRET_LENGTH = 16;

/** WS_AUTH_MODE: a comma list of forward, jwt and ticket, at least one. WS_AUTHORIZER=dummy stands
 * in for forward auth, so it needs forward listed. */
export function authModes(
  raw: (name: ConfigName) => string,
  bad: (name: ConfigName, expected: string, fallback: 0) => 0,
  authorizer: 'proxy' | 'dummy',
): AuthMode[] {
  const given = raw('WS_AUTH_MODE').split(',').map((m) => m.trim().toLowerCase()).filter((m) => m !== '');
  const modes = AUTH_MODES.filter((m) => given.includes(m));
  const unknown = given.filter((m) => !(AUTH_MODES as readonly string[]).includes(m));
  if (unknown.length > 0 || modes.length === 0) {
    bad('WS_AUTH_MODE', 'a comma list of forward, jwt and ticket, such as forward,ticket', 0);
    return ['forward'];
  }
  if (authorizer === 'dummy' && !modes.includes('forward')) bad('WS_AUTHORIZER', 'proxy unless WS_AUTH_MODE lists forward (dummy stands in for forward auth)', 0);
  return modes;
}


/** WS_PUBLISH_AUTH: the listed modes, each with the settings it needs. */
export function readPublishAuth(r: Readers, given: { insecure: boolean; login: string; password: string; toleranceMs: number }): PublishAuthSettings {
  const { bad, list } = r;
  const { insecure, login, password } = given;
  // Publisher auth: WS_PUBLISH_AUTH lists the modes; each listed mode needs its own settings.
  const publishModes = list('WS_PUBLISH_AUTH').map((m) => m.toLowerCase());
  for (const mode of publishModes) {
    if (!(PUBLISH_AUTH_MODES as readonly string[]).includes(mode)) bad('WS_PUBLISH_AUTH', `a comma list of ${PUBLISH_AUTH_MODES.join(', ')} ("${mode}" is none of them)`, 0);
  }
  const basicListed = publishModes.includes('basic');
  if (basicListed && !insecure && login === '') bad('WS_LOGIN', 'the login backends use to publish (or WS_INSECURE_NO_AUTH=true)', 0);
  if (basicListed && !insecure && password === '') bad('WS_PASSWORD', 'the password backends use to publish (or WS_INSECURE_NO_AUTH=true)', 0);
  if (login.includes(':')) bad('WS_LOGIN', 'a login without ":" (Basic auth splits on it)', 0);
  const publishTokens = list('WS_PUBLISH_TOKENS');
  if (publishModes.includes('bearer') && publishTokens.length === 0) bad('WS_PUBLISH_TOKENS', 'one or more tokens, comma-separated (WS_PUBLISH_AUTH lists bearer)', 0);
  if (publishTokens.some((t) => t.length < MIN_SECRET_LENGTH || /\s/.test(t))) bad('WS_PUBLISH_TOKENS', `tokens of at least ${MIN_SECRET_LENGTH} characters without spaces`, 0);
  const hmacSecrets = list('WS_HMAC_SECRET');
  if (publishModes.includes('hmac') && hmacSecrets.length === 0) bad('WS_HMAC_SECRET', 'the shared secret publishers sign with (WS_PUBLISH_AUTH lists hmac)', 0);
  if (hmacSecrets.some((t) => t.length < MIN_SECRET_LENGTH)) bad('WS_HMAC_SECRET', `secrets of at least ${MIN_SECRET_LENGTH} characters`, 0);

  return {
    modes: [...new Set(publishModes)] as PublishAuthMode[],
    tokens: publishTokens,
    hmacSecrets,
    hmacToleranceMs: given.toleranceMs,
  };
}

/** WS_JWT_*: undefined when no key is configured (then no mode may take a JWT). */
export function readJwt(r: Readers, uses: { clientJwt: boolean; publisherJwt: boolean; timerMax: { ms: number; text: string } }): { jwt: JwtSettings | undefined; jwtCookie: string | undefined } {
  const { env, problems, raw, bad, duration, bool, list } = r;
  const TIMER_MAX = uses.timerMax;
  // JWT verification: a secret and/or one public-key source; the allow-list must fit the keys.
  const jwtSecretText = env.WS_JWT_SECRET;
  if (jwtSecretText !== undefined && jwtSecretText.trim() === '') problems.push('WS_JWT_SECRET is set but empty: expected a secret, or leave it unset (an empty secret is a key anyone knows)');
  const jwtSecret = jwtSecretText === undefined || jwtSecretText.trim() === '' ? undefined : new TextEncoder().encode(jwtSecretText);
  let jwtPublicKey: KeyObject | undefined;
  let jwtKeyAlgorithms: readonly string[] = [];
  if (raw('WS_JWT_PUBLIC_KEY') !== '') {
    const read = readPublicKey(raw('WS_JWT_PUBLIC_KEY'));
    if ('problem' in read) bad('WS_JWT_PUBLIC_KEY', read.problem, 0);
    else ({ key: jwtPublicKey, algorithms: jwtKeyAlgorithms } = read);
  }
  const jwksText = raw('WS_JWT_JWKS_URL');
  const jwksUrl = jwksText === '' ? undefined : parseAuthUrl(jwksText);
  if (jwksText !== '' && jwksUrl === undefined) bad('WS_JWT_JWKS_URL', 'the http(s) URL of a JSON Web Key Set', 0);
  if (jwksText !== '' && raw('WS_JWT_PUBLIC_KEY') !== '') bad('WS_JWT_JWKS_URL', 'unset when WS_JWT_PUBLIC_KEY is set (one public-key source)', 0);
  const verifiable = [...(jwtSecret === undefined ? [] : HMAC_ALGORITHMS), ...jwtKeyAlgorithms, ...(jwksText === '' ? [] : ASYMMETRIC_ALGORITHMS)];
  let jwtAlgorithms = list('WS_JWT_ALGORITHMS');
  if (jwtAlgorithms.length === 0) jwtAlgorithms = verifiable;
  for (const alg of jwtAlgorithms) {
    if (!KNOWN_ALGORITHMS.includes(alg)) bad('WS_JWT_ALGORITHMS', `algorithms among ${KNOWN_ALGORITHMS.join(', ')} ("${alg}" is not one)`, 0);
    else if (!verifiable.includes(alg)) bad('WS_JWT_ALGORITHMS', `algorithms a configured key can verify ("${alg}" needs ${isHmacAlgorithm(alg) ? 'WS_JWT_SECRET' : 'a WS_JWT_PUBLIC_KEY of its family, or WS_JWT_JWKS_URL'})`, 0);
  }
  const jwtConfigured = jwtSecret !== undefined || jwtPublicKey !== undefined || jwksUrl !== undefined;
  if (uses.publisherJwt && jwtSecretText === undefined && raw('WS_JWT_PUBLIC_KEY') === '' && jwksText === '') {
    bad('WS_JWT_SECRET', 'a secret, or WS_JWT_PUBLIC_KEY or WS_JWT_JWKS_URL (WS_PUBLISH_AUTH lists jwt)', 0);
  }
  if (uses.clientJwt && jwtSecretText === undefined && raw('WS_JWT_PUBLIC_KEY') === '' && jwksText === '') {
    bad('WS_JWT_SECRET', 'a secret, or WS_JWT_PUBLIC_KEY or WS_JWT_JWKS_URL (WS_AUTH_MODE lists jwt)', 0);
  }
  const jwtCookie = raw('WS_JWT_COOKIE').trim();
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]*$/.test(jwtCookie)) bad('WS_JWT_COOKIE', 'a cookie name (RFC 6265 token characters)', 0);
  // Read whether or not a key is set, so a typo is reported before the key is added.
  const jwtRest = {
    jwksTimeoutMs: duration('WS_JWT_JWKS_TIMEOUT', 1, TIMER_MAX),
    jwksCooldownMs: duration('WS_JWT_JWKS_COOLDOWN', 0, TIMER_MAX),
    audience: list('WS_JWT_AUDIENCE'),
    issuer: list('WS_JWT_ISSUER'),
    leewayMs: duration('WS_JWT_LEEWAY', 0, { ms: 86_400_000, text: '1d' }),
    requireExp: bool('WS_JWT_REQUIRE_EXP'),
  };
  const jwt: JwtSettings | undefined = jwtConfigured ? { secret: jwtSecret, publicKey: jwtPublicKey, jwksUrl, algorithms: jwtAlgorithms, ...jwtRest } : undefined;

  return { jwt, jwtCookie: jwtCookie === '' ? undefined : jwtCookie };
}

/** An http(s) URL, or undefined (WS_AUTH_URL, WS_JWT_JWKS_URL). */
export function parseAuthUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined; // not a URL at all: reported by the caller with the variable's name
  }
}
