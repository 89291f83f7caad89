// Claim filters: which of a message's sockets receive it, decided on each socket's claims with
// Driplet's targeting rules (../shared/seeds/PROTOCOLS.md), so that the native API and the Driplet
// listener mean the same thing by the same filter:
//   - exclude first: a socket any exclude rule matches never receives the message;
//   - then, when include has rules, at least one of them must match;
//   - a rule is a dotted path into the claims (`user.id`) and a value; a path that does not exist
//     matches nothing;
//   - an array value matches a claim array sharing an element with it, or a claim equal to one of
//     its elements; an empty array matches only an empty claim array; a scalar value matches an
//     equal claim or a claim array containing it; numbers compare as numbers (1 and 1.0 are equal).
// Pure: a filter is compiled once per message and then applied to any number of sockets.
import { OctowayError } from '../errors.js';

type Value = string | number | boolean | null | readonly Value[];

interface Rule {
  readonly path: readonly string[];
  readonly value: Value;
}

export interface Filter {
  readonly include: readonly Rule[];
  readonly exclude: readonly Rule[];
  /** The filter as given, normalised: what is stored with a held message and sent on the bus. */
  readonly spec: FilterSpec;
}

export interface FilterSpec {
  readonly include?: Readonly<Record<string, Value>>;
  readonly exclude?: Readonly<Record<string, Value>>;
}

/** Rules per filter: each costs a path walk per socket per message. */
export const MAX_FILTER_RULES = 32;

/** Compiles `{include?, exclude?}`; throws INVALID_FILTER naming what is wrong. Returns undefined
 * for a filter with no rules (everyone receives, as with no filter). */
export function compileFilter(spec: unknown): Filter | undefined {
  if (!isObject(spec)) throw invalid('"filter" must be an object with "include" and/or "exclude"');
  for (const name of Object.keys(spec)) {
    if (name !== 'include' && name !== 'exclude') throw invalid(`unknown field "filter.${name}"`);
  }
  const include = rulesOf(spec.include, 'include');
  const exclude = rulesOf(spec.exclude, 'exclude');
  if (include.length + exclude.length > MAX_FILTER_RULES) throw invalid(`at most ${MAX_FILTER_RULES} rules`);
  if (include.length === 0 && exclude.length === 0) return undefined;
  const normal: { include?: Record<string, Value>; exclude?: Record<string, Value> } = {};
  if (include.length > 0) normal.include = spec.include as Record<string, Value>;
  if (exclude.length > 0) normal.exclude = spec.exclude as Record<string, Value>;
  return { include, exclude, spec: normal };
}

/** Whether a socket with these claims receives a message with this filter. */
export function matchesFilter(filter: Filter, claims: Readonly<Record<string, unknown>> | undefined): boolean {
  for (const rule of filter.exclude) if (ruleMatches(rule, claims)) return false;
  if (filter.include.length === 0) return true;
  for (const rule of filter.include) if (ruleMatches(rule, claims)) return true;
  return false;
}

function rulesOf(rules: unknown, side: 'include' | 'exclude'): Rule[] {
  if (rules === undefined || rules === null) return [];
  if (!isObject(rules)) throw invalid(`"filter.${side}" must be an object of path: value`);
  return Object.entries(rules).map(([path, value]) => {
    if (path === '' || path.split('.').some((part) => part === '')) throw invalid(`"filter.${side}" has an empty path or path segment: "${path}"`);
    if (!isValue(value, 0)) throw invalid(`"filter.${side}.${path}" must be a string, number, boolean, null or an array of them`);
    return { path: path.split('.'), value };
  });
}

function ruleMatches(rule: Rule, claims: Readonly<Record<string, unknown>> | undefined): boolean {
  let current: unknown = claims;
  for (const part of rule.path) {
    if (!isObject(current) || !Object.hasOwn(current, part)) return false;
    current = current[part];
  }
  return valueMatches(current, rule.value);
}

function valueMatches(claim: unknown, value: Value): boolean {
  if (Array.isArray(value)) {
    if (value.length === 0) return Array.isArray(claim) && claim.length === 0;
    if (Array.isArray(claim)) return value.some((v) => claim.some((c) => equal(c, v)));
    return value.some((v) => equal(claim, v));
  }
  if (Array.isArray(claim)) return claim.some((c) => equal(c, value));
  return equal(claim, value);
}

/** JSON equality (numbers by value, arrays element by element). Objects never equal a rule value:
 * rule values cannot be objects. */
function equal(a: unknown, b: Value): boolean {
  if (Array.isArray(b)) return Array.isArray(a) && a.length === b.length && b.every((v, i) => equal(a[i], v));
  return a === b;
}

/** Rule values: scalars and arrays of them (nested arrays allowed, as Driplet allows; objects not). */
function isValue(value: unknown, depth: number): value is Value {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  return Array.isArray(value) && depth < 4 && value.length <= 1000 && value.every((v) => isValue(v, depth + 1));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string): OctowayError {
  return new OctowayError('INVALID_FILTER', message);
}
