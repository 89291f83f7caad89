// The logger: pino JSON lines, with every field that could carry a secret or a payload redacted.
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

/** Paths that must never reach a log line, whatever a caller passes by mistake. */
const REDACT = [
  'authorization', 'cookie', 'password', 'token', 'payload', 'value', 'body',
  '*.authorization', '*.cookie', '*.password', '*.token', '*.payload', '*.value', '*.body',
  'headers.authorization', 'headers.cookie', 'req.headers.authorization', 'req.headers.cookie',
];

/** By default, stdout written synchronously. pino's default asynchronous stream flushes what it still
 * buffers when the process exits, retrying every 100 ms for ever on any error but EAGAIN: with
 * stdout a pipe whose reader died (`npm start | tee` stopped by the same Ctrl-C, a log shipper
 * that crashed), a stop then hangs past WS_SHUTDOWN_TIMEOUT until SIGKILL. Synchronous writes
 * report EPIPE at once, and pino's handler then drops further lines. Log lines are few (none per
 * message), so the syscall per line costs nothing measurable. */
export function createLogger(level: LogLevel, destination: pino.DestinationStream = pino.destination({ dest: 1, sync: true })): Logger {
  return pino({
    level,
    base: { service: 'octoway' },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }, destination);
}
