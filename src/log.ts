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

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino({
    level,
    base: { service: 'octoway' },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }, destination);
}
