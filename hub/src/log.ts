/**
 * Structured JSON logs (pino) to stdout; one logger, children per part.
 * Every line's fields are cut (log-safe.ts), and lines about one device or
 * remote address are capped by the throttle, so no outsider can make the
 * log grow faster than a few short lines per window.
 */
import { pino, type DestinationStream, type Logger, type LoggerOptions as PinoOptions } from 'pino';
import type { LogLevel } from './config/settings.js';
import type { LogThrottle } from './limits/log-throttle.js';
import { clip, clipFields } from './log-safe.js';

const FATAL = 60;

/** The outsider a line is about: its device, else its remote address; undefined for the hub's own lines. */
function sourceOf(fields: unknown): string | undefined {
  if (typeof fields !== 'object' || fields === null || fields instanceof Error) return undefined;
  const { deviceId, remote } = fields as { deviceId?: unknown; remote?: unknown };
  if (typeof deviceId === 'string') return `device ${clip(deviceId, 64)}`;
  if (typeof remote === 'string') return `address ${clip(remote, 64)}`;
  return undefined;
}

/** Lines go to `destination` (stdout when absent; tests capture them there); `throttle` caps lines per device / address. */
export function createLogger(level: LogLevel, destination?: DestinationStream, throttle?: LogThrottle): Logger {
  const config: PinoOptions = {
    level,
    base: { service: 'iot-hub' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { log: clipFields },
  };
  if (throttle) {
    config.hooks = {
      logMethod(args, method, lineLevel) {
        const source = lineLevel < FATAL ? sourceOf(args[0]) : undefined;
        if (source !== undefined && !throttle.admit(source)) return;
        method.apply(this, args);
      },
    };
  }
  const logger = destination === undefined ? pino(config) : pino(config, destination);
  throttle?.setWriter((source, suppressed, windowMs) => {
    logger.warn({ source, suppressed, windowSec: windowMs / 1000 }, 'suppressed log lines from one source');
  });
  return logger;
}
