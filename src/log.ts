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
export function createLogger(level: LogLevel, destination: pino.DestinationStream = pino.destination({ dest: 1, sync: true }), format: 'json' | 'text' = 'json'): Logger {
  if (format === 'text') destination = textLines(destination);
  return pino({
    level,
    base: { service: 'octoway' },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }, destination);
}

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** WS_LOG_FORMAT=text: each JSON line rewritten as Goctopus's (Go slog's) `key=value` text,
 * `time=… level=INFO msg="listening" port=7890`. After pino's redaction, so nothing hidden reappears. */
function textLines(inner: pino.DestinationStream): pino.DestinationStream {
  return {
    write(line: string): void {
      const { time, level, msg, ...fields } = JSON.parse(line) as Record<string, unknown>;
      const parts = [`time=${String(time)}`, `level=${LEVEL_NAMES[level as number] ?? String(level)}`, `msg=${JSON.stringify(msg ?? '')}`];
      for (const [key, value] of Object.entries(fields)) {
        const text = typeof value === 'string' ? value : JSON.stringify(value);
        parts.push(`${key}=${/^[^\s"=]+$/.test(text) ? text : JSON.stringify(text)}`);
      }
      inner.write(`${parts.join(' ')}\n`);
    },
  };
}
