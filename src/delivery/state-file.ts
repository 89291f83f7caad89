// WS_STATE_FILE: held messages saved at shutdown and loaded at start, so a graceful restart of a
// single in-memory node loses nothing. Written atomically; renamed to `.loaded` once loaded, so a
// crash later cannot replay messages that were already delivered.
import { open, readFile, rename } from 'node:fs/promises';
import { OctowayError } from '../errors.js';
import type { HeldMessage } from './held-store.js';

const FORMAT = 'octoway-held-messages';
const VERSION = 1;

interface StateFile {
  format: typeof FORMAT;
  version: typeof VERSION;
  savedAt: string;
  messages: HeldMessage[];
}

/** Writes to a temporary file beside `path`, syncs it, then renames it over `path`. */
export async function saveStateFile(path: string, messages: readonly HeldMessage[]): Promise<void> {
  const state: StateFile = { format: FORMAT, version: VERSION, savedAt: new Date().toISOString(), messages: [...messages] };
  const temporary = `${path}.tmp-${process.pid}`;
  const file = await open(temporary, 'w', 0o600);
  try {
    await file.writeFile(JSON.stringify(state));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
}

/** Reads the held messages saved at `path`, oldest first, without those expired by `now`.
 * A missing file is an empty store. Anything unreadable throws STATE_FILE_INVALID and leaves the
 * file exactly as it was. Call markLoaded once the messages are in the store. */
export async function readStateFile(path: string, now = Date.now()): Promise<HeldMessage[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw invalid(path, `cannot be read (${(err as Error).message})`);
  }
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch {
    throw invalid(path, 'is not valid JSON (truncated or corrupt)');
  }
  if (!isState(state)) throw invalid(path, `is not an ${FORMAT} file of version ${VERSION}`);
  const bad = state.messages.findIndex((m) => !isHeldMessage(m));
  if (bad >= 0) throw invalid(path, `message ${bad} is malformed`);
  return state.messages.filter((m) => m.expiresAt > now);
}

export async function markLoaded(path: string): Promise<void> {
  try {
    await rename(path, `${path}.loaded`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function invalid(path: string, problem: string): OctowayError {
  return new OctowayError('STATE_FILE_INVALID', `WS_STATE_FILE ${path} ${problem}; fix or move the file, then start again`);
}

function isState(value: unknown): value is StateFile {
  const v = value as Partial<StateFile> | null;
  return typeof v === 'object' && v !== null && v.format === FORMAT && v.version === VERSION && Array.isArray(v.messages);
}

function isHeldMessage(value: unknown): value is HeldMessage {
  const m = value as Partial<HeldMessage> | null;
  return typeof m === 'object' && m !== null && typeof m.id === 'string' && typeof m.key === 'string'
    && typeof m.frame === 'string' && Number.isFinite(m.createdAt) && Number.isFinite(m.expiresAt);
}
