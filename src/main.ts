#!/usr/bin/env node
// Entry point: reads configuration, starts the gateway, stops it on SIGTERM/SIGINT.
// Exit codes: 0 after a clean stop, 2 for bad configuration or state file, 1 for anything else.
import dotenv from 'dotenv';
import { ConfigError } from './config.js';
import { loadApps, type AppConfig } from './config-apps.js';
import { readSources, usage } from './config-sources.js';
import { runHealthcheck } from './healthcheck.js';
import { isOctowayError, type ErrorCode } from './errors.js';
import { createLogger } from './log.js';
import { startGateway, type Gateway } from './server.js';

dotenv.config({ quiet: true });

/** Problems the operator fixes before starting again: exit code 2, one line, no stack trace. */
const STARTUP_ERRORS: ReadonlySet<ErrorCode> = new Set(['CONFIG_INVALID', 'STATE_FILE_INVALID', 'STATE_FILE_UNWRITABLE', 'PORT_IN_USE', 'TLS_FILE_INVALID']);

function fatal(lines: readonly string[], code: number): never {
  for (const line of lines) process.stderr.write(`octoway: ${line}\n`);
  process.exit(code);
}

// Goctopus's flags win over WS_CONFIG's file, which wins over the environment (config-sources.ts).
let config;
let apps: readonly AppConfig[];
try {
  const sources = readSources(process.argv.slice(2), process.env);
  if (sources.help) {
    process.stdout.write(usage());
    process.exit(0);
  }
  if (sources.healthcheck) await runHealthcheck(sources.values);
  ({ config, apps } = loadApps(sources));
} catch (err) {
  if (err instanceof ConfigError) fatal(err.problems, 2);
  throw err;
}

const log = createLogger(config.logLevel, undefined, config.logFormat);
let gateway: Gateway | undefined;

// Failures nothing in the gateway caught (docs/operations.md, "Unhandled errors"). A rejected
// promise nobody awaited is one operation's failure: the state it leaves is that operation's, so
// it is logged loudly and the gateway keeps serving its other sockets. An uncaught exception
// unwound a synchronous path halfway (a hub index, a socket record): the state may be corrupt, so
// the held messages are saved if the store is in memory and the process exits 1 for its
// supervisor to restart it. Only the error's type, message and stack are logged: an error may
// carry the command or request that failed (ioredis's `command.args` holds payloads).
process.on('unhandledRejection', (reason: unknown) => {
  log.error({ err: describeError(reason) }, 'unhandled promise rejection; still serving');
});
process.on('uncaughtException', (err: Error) => {
  log.fatal({ err: describeError(err) }, 'uncaught exception; exiting');
  try {
    const saved = gateway?.saveNow();
    if (saved !== undefined && saved.messages > 0) log.fatal({ held: saved.messages, savedTo: saved.file }, saved.file === undefined ? 'held messages lost' : 'held messages saved before exiting');
  } catch (saveErr) {
    log.fatal({ err: describeError(saveErr) }, 'held messages could not be saved before exiting');
  }
  process.exit(1);
});

/** What is logged of an error: its type, its message (cut to 200 characters; none for a SyntaxError,
 * whose message quotes the text that failed to parse) and its stack frames without the message line. */
function describeError(err: unknown): { type: string; message?: string; stack?: string } {
  if (!(err instanceof Error)) return { type: typeof err };
  const frames = err.stack?.split('\n').filter((line) => line.startsWith('    at ')).join('\n');
  return { type: err.name, ...(err instanceof SyntaxError ? {} : { message: err.message.slice(0, 200) }), ...(frames ? { stack: frames } : {}) };
}

/** A signal that arrived while the gateway was starting (it may already be listening and have
 * logged so): acted on as soon as the start returns, so no signal is ever left to Node's default. */
let stopRequested: NodeJS.Signals | undefined;
let stopping = false;
const stop = (signal: NodeJS.Signals): void => {
  if (gateway === undefined) {
    stopRequested ??= signal;
    return;
  }
  if (stopping) return;
  stopping = true;
  const started = gateway;
  log.info({ signal }, 'stopping');
  const timer = setTimeout(() => {
    // The graceful close is stuck (an auth call or Redis not answering): the held messages it would
    // have saved are saved here, synchronously, so the exit drops none silently.
    const saved = started.saveNow();
    const fields = { timeoutMs: config.shutdownTimeoutMs, held: saved?.messages, savedTo: saved?.file };
    if (saved !== undefined && saved.file === undefined && saved.messages > 0) {
      log.fatal(fields, 'shutdown took longer than WS_SHUTDOWN_TIMEOUT; held messages lost; exiting');
    } else {
      log.error(fields, 'shutdown took longer than WS_SHUTDOWN_TIMEOUT; exiting');
    }
    process.exit(1);
  }, config.shutdownTimeoutMs);
  timer.unref();
  started.close().then(
    () => process.exit(0),
    (err: unknown) => {
      log.error({ err }, 'error during shutdown');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

try {
  gateway = await startGateway(config, log, apps);
} catch (err) {
  if (isOctowayError(err) && STARTUP_ERRORS.has(err.code)) fatal([err.message], 2);
  fatal([`cannot start: ${(err as Error).message}`], 1);
}
if (stopRequested !== undefined) stop(stopRequested);
