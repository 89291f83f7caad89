// WS_STATE_FILE: held messages saved at shutdown and loaded at start, so a graceful restart of a
// single in-memory node loses nothing. Checked writable at start; written atomically (temporary
// file, fsync, rename, fsync of the directory); renamed to `.loaded` once loaded, so a crash later
// cannot replay messages that were already delivered. The save is synchronous: it runs once, when
// the process stops and its sockets are closed, and the WS_SHUTDOWN_TIMEOUT deadline (which exits
// right after) must be able to run it too, so one save serves both and the two cannot interleave.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { readFile, rename, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { OctowayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { HeldMessage } from './held-store.js';
import { expireOfTimes } from './message.js';

const FORMAT = 'octoway-held-messages';
const VERSION = 1;

interface StateFile {
  format: typeof FORMAT;
  version: typeof VERSION;
  savedAt: string;
  messages: HeldMessage[];
}

/** Proves at start that the shutdown save can succeed: `path` is not a directory and a file can be
 * created, synced and removed beside it. Throws STATE_FILE_UNWRITABLE naming the reason. */
export async function checkStateFileWritable(path: string): Promise<void> {
  const existing = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw unwritable(path, reason(path, err));
  });
  if (existing?.isDirectory()) throw unwritable(path, 'it is a directory');
  const probe = `${path}.probe-${process.pid}`;
  try {
    writeSynced(probe, '');
    unlinkSync(probe);
  } catch (err) {
    throw unwritable(path, reason(path, err as NodeJS.ErrnoException));
  }
}

/** Writes to a temporary file beside `path`, syncs it, renames it over `path`, then syncs the
 * directory so the rename itself survives a power cut. On failure `path` is as it was before. */
export function saveStateFile(path: string, messages: readonly HeldMessage[]): void {
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    writeSynced(temporary, stateText(messages));
    renameSync(temporary, path);
  } catch (err) {
    // The temporary file is useless without the rename; removing it may fail for the same reason
    // the save did (directory gone), which the caller reports through `err`.
    try { unlinkSync(temporary); } catch { /* reported through err */ }
    throw err;
  }
  const directory = openSync(dirname(path), 'r');
  try {
    fsyncSync(directory);
  } finally {
    closeSync(directory);
  }
}

/** What a shutdown save did with `messages` held messages: `file` holds them (WS_STATE_FILE, or a
 * fallback file when `error` says why WS_STATE_FILE could not), or undefined: they are lost. */
export interface SaveOutcome {
  readonly messages: number;
  readonly file: string | undefined;
  /** Set when WS_STATE_FILE does not hold the messages: the process should exit non-zero. */
  readonly error: Error | undefined;
}

/** The shutdown save, which never drops messages silently: if `path` cannot be written (disk
 * full, directory removed since the start), logs an error with the count and the reason and writes
 * the same content to a file in os.tmpdir(), logging its path (or, if that fails too, that they are
 * lost, with the count). */
export function saveStateOrFallback(path: string, messages: readonly HeldMessage[], log: Logger): SaveOutcome {
  try {
    saveStateFile(path, messages);
    return saved(path, messages, log);
  } catch (err) {
    const fallback = fallbackFor(path, messages, err, log);
    try {
      saveStateFile(fallback.file, messages);
      return fallback.saved();
    } catch (fallbackErr) {
      return fallback.lost(fallbackErr);
    }
  }
}

function saved(path: string, messages: readonly HeldMessage[], log: Logger): SaveOutcome {
  log.info({ messages: messages.length, file: path }, 'held messages saved');
  return { messages: messages.length, file: path, error: undefined };
}

/** Logs that `path` could not be written; names the fallback file and reports how trying it ended. */
function fallbackFor(path: string, messages: readonly HeldMessage[], err: unknown, log: Logger) {
  const count = messages.length;
  log.error({ err, messages: count, file: path }, 'held messages could not be saved to WS_STATE_FILE');
  const file = join(tmpdir(), `octoway-held-${process.pid}-${Date.now()}.json`);
  const error = new Error(`held messages were not saved to WS_STATE_FILE ${path}: ${(err as Error).message}`);
  return {
    file,
    saved(): SaveOutcome {
      log.error({ messages: count, file }, 'held messages saved to a fallback file instead: move it to WS_STATE_FILE before the next start');
      return { messages: count, file, error };
    },
    lost(fallbackErr: unknown): SaveOutcome {
      log.fatal({ err: fallbackErr, messages: count, file }, 'held messages lost: the fallback file could not be written either');
      return { messages: count, file: undefined, error };
    },
  };
}

function stateText(messages: readonly HeldMessage[]): string {
  const state: StateFile = { format: FORMAT, version: VERSION, savedAt: new Date().toISOString(), messages: [...messages] };
  return JSON.stringify(state);
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
  // Files saved before `expire` was kept lack it: the same duration stands in.
  return state.messages.filter((m) => m.expiresAt > now)
    .map((m) => (typeof m.expire === 'string' ? m : { ...m, expire: expireOfTimes(m.createdAt, m.expiresAt) }));
}

export async function markLoaded(path: string): Promise<void> {
  try {
    await rename(path, `${path}.loaded`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function writeSynced(path: string, text: string): void {
  const file = openSync(path, 'w', 0o600);
  try {
    writeFileSync(file, text);
    fsyncSync(file);
  } finally {
    closeSync(file);
  }
}

function reason(path: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT': return `its directory ${dirname(path)} does not exist`;
    case 'ENOTDIR': return `a part of ${dirname(path)} is not a directory`;
    case 'EACCES': case 'EPERM': return `permission denied in ${dirname(path)}`;
    case 'EROFS': return `${dirname(path)} is on a read-only file system`;
    default: return err.message;
  }
}

function unwritable(path: string, problem: string): OctowayError {
  return new OctowayError('STATE_FILE_UNWRITABLE', `WS_STATE_FILE ${path} cannot be written: ${problem}; held messages could not be saved at shutdown. Create the directory (writable by this user) or point WS_STATE_FILE elsewhere`);
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
    && typeof m.frame === 'string' && Number.isFinite(m.createdAt) && Number.isFinite(m.expiresAt)
    && (m.expire === undefined || (typeof m.expire === 'string' && !m.expire.includes('\n')));
}
