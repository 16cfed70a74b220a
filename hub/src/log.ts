/** Structured JSON logs (pino) to stdout; one logger, children per part. */
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config/settings.js';

export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { service: 'iot-hub' }, timestamp: pino.stdTimeFunctions.isoTime });
}
