// Exporters (WS_AUTH_EXPORTER): how an auth backend's JSON answer (and later a JWT's claims) becomes
// routing keys, grants and the rest of an identity (see identity.ts).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OctowayError } from '../errors.js';
import type { UpgradeRequest } from './authenticator.js';

export interface ExportResult {
  keys: string[];
  claims?: Record<string, unknown>;
  subject?: string;
  session?: string;
  grants?: { subscribe?: string[]; publish?: string[] };
  /** Unix seconds. */
  expiresAt?: number;
}

/** May throw or reject; the caller turns that into EXPORTER_FAILED for the one upgrade. */
export type Exporter = (body: unknown, request: UpgradeRequest) => ExportResult | Promise<ExportResult>;

/** Thrown when an exporter's output has the wrong shape. Its message names the problem but never
 * the values, so it is safe to log. */
export class ExportShapeError extends Error {
  override readonly name = 'ExportShapeError';
}

/** `goctopus` (the default), `paths:a.b,c`, or a path to a JS module whose default export is the
 * exporter. Throws CONFIG_INVALID when the spec or the module is unusable, so start-up fails. */
export async function loadExporter(spec: string): Promise<Exporter> {
  const trimmed = spec.trim();
  if (trimmed === '' || trimmed === 'goctopus') return goctopusExporter;
  if (trimmed.startsWith('paths:')) return pathsExporter(parsePaths(trimmed.slice('paths:'.length)));
  return moduleExporter(trimmed);
}

/** Whether WS_AUTH_EXPORTER names a JS module rather than a built-in exporter (`goctopus`,
 * `paths:`). Only a module exporter is given a JWT's claims: the built-ins read forward-auth answers. */
export function isModuleExporter(spec: string): boolean {
  const trimmed = spec.trim();
  return !(trimmed === '' || trimmed === 'goctopus' || trimmed.startsWith('paths:'));
}

/** Normalises any exporter's output: keys are strings, kept literally; empty ones dropped, duplicates
 * removed in first-seen order. Accepts `string[]` or `{ keys: string[], claims?: object, subject?:
 * string, session?: string, grants?: { subscribe?: string[], publish?: string[] }, expiresAt?: unix
 * seconds }`. */
export function normalizeExport(output: unknown): ExportResult {
  const shaped = Array.isArray(output) ? { keys: output as unknown } : output;
  if (!isRecord(shaped) || !Array.isArray(shaped['keys'])) {
    throw new ExportShapeError('exporter must return an array of strings or { keys: string[] }');
  }
  const result: ExportResult = { keys: uniqueKeys(shaped['keys'] as unknown[]) };
  const { claims, subject, session, grants, expiresAt } = shaped;
  if (claims !== undefined) {
    if (!isRecord(claims)) throw new ExportShapeError('exporter claims must be an object');
    result.claims = claims;
  }
  if (subject !== undefined) result.subject = nonEmptyString(subject, 'subject');
  if (session !== undefined) result.session = nonEmptyString(session, 'session');
  if (grants !== undefined) {
    if (!isRecord(grants)) throw new ExportShapeError('exporter grants must be an object');
    result.grants = { subscribe: grantList(grants['subscribe'], 'subscribe'), publish: grantList(grants['publish'], 'publish') };
  }
  if (expiresAt !== undefined) {
    if (typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt) || expiresAt < 0) throw new ExportShapeError('exporter expiresAt must be whole unix seconds');
    result.expiresAt = expiresAt;
  }
  return result;
}

function nonEmptyString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new ExportShapeError(`exporter ${name} must be a non-empty string`);
  return value;
}

function grantList(value: unknown, name: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ExportShapeError(`exporter grants.${name} must be an array of strings`);
  return uniqueKeys(value as unknown[]);
}

/** Runs once per upgrade on a handful of keys: a linear check beats allocating a Set for that. */
const SMALL = 16;

function uniqueKeys(raw: readonly unknown[]): string[] {
  const keys: string[] = [];
  const seen = raw.length > SMALL ? new Set<string>() : undefined;
  for (const key of raw) {
    if (typeof key !== 'string') throw new ExportShapeError(`exporter returned a ${describe(key)} key`);
    if (key === '') continue;
    if (seen === undefined ? keys.includes(key) : seen.has(key)) continue;
    seen?.add(key);
    keys.push(key);
  }
  return keys;
}

/** Goctopus's AuthResponse.Export: user.email then user.organization_name, when non-empty strings.
 * Goctopus has no subject apart from its keys, so none is set (a module exporter may give one). */
function goctopusExporter(body: unknown): ExportResult {
  const user = isRecord(body) ? body['user'] : undefined;
  if (!isRecord(user)) return { keys: [] };
  const keys = [user['email'], user['organization_name']].filter((v): v is string => typeof v === 'string');
  return normalizeExport(keys);
}

function parsePaths(list: string): string[][] {
  const paths = list.split(',').map((path) => path.trim());
  const bad = paths.filter((path) => path === '' || path.split('.').some((segment) => segment === ''));
  if (paths.length === 0 || bad.length > 0) {
    throw new OctowayError('CONFIG_INVALID', 'WS_AUTH_EXPORTER: "paths:" needs a comma list of dot paths such as paths:user.email,teams');
  }
  return paths.map((path) => path.split('.'));
}

/** Arrays expand to one key each; numbers become strings; objects, null and booleans are skipped. */
function pathsExporter(paths: readonly string[][]): Exporter {
  return (body) => {
    const keys: string[] = [];
    for (const path of paths) {
      const value = lookup(body, path);
      for (const item of Array.isArray(value) ? (value as unknown[]) : [value]) {
        if (typeof item === 'string') keys.push(item);
        else if (typeof item === 'number' && Number.isFinite(item)) keys.push(String(item));
      }
    }
    return normalizeExport(keys);
  };
}

/** Own properties only, so `constructor` or `__proto__` in a path cannot reach the prototype chain. */
function lookup(body: unknown, path: readonly string[]): unknown {
  let current: unknown = body;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

async function moduleExporter(spec: string): Promise<Exporter> {
  let loaded: unknown;
  try {
    loaded = await import(pathToFileURL(resolve(process.cwd(), spec)).href);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new OctowayError('CONFIG_INVALID', `WS_AUTH_EXPORTER: cannot load module ${spec}: ${reason}`, { cause: err });
  }
  const fn = isRecord(loaded) ? loaded['default'] : undefined;
  if (typeof fn !== 'function') {
    throw new OctowayError('CONFIG_INVALID', `WS_AUTH_EXPORTER: module ${spec} has no default export function`);
  }
  return async (body, request) => normalizeExport(await (fn as (b: unknown, r: UpgradeRequest) => unknown)(body, request));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}
