/**
 * Structured JSON logs (pino) to stdout; one logger, children per part.
 *
 * No secret reaches a log line, whoever logs: authorization headers,
 * cookies, passwords and tokens are redacted by path, URLs lose their
 * userinfo, and errors are serialized to their type, message, code and
 * stack only. An error from an HTTP client (node-influx's RequestError)
 * carries its whole request, `Authorization: Basic <user:password>` header
 * included, as enumerable properties: pino's stock serializer would print it.
 *
 * Every line's fields are cut (log-safe.ts), and lines about one device or
 * remote address are capped by the throttle, so no outsider can make the
 * log grow faster than a few short lines per window.
 */
import { pino, type DestinationStream, type Logger, type LoggerOptions as PinoOptions } from 'pino';
import type { LogLevel } from './config/settings.js';
import type { LogThrottle } from './limits/log-throttle.js';
import { clip, clipFields } from './log-safe.js';

const SECRET_KEYS = ['authorization', 'cookie', '"set-cookie"', 'password', 'token', 'adminToken', 'adminPassword', 'influxUrl'];

/** Each secret key at the top, one and two levels down, and in a headers object at either level. */
export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((k) => {
  const key = k.startsWith('"') ? `[${k}]` : `.${k}`;
  const top = k.startsWith('"') ? `[${k}]` : k;
  return [top, `*${key}`, `*.*${key}`, `headers${key}`, `*.headers${key}`];
});

const USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi;
const AUTH_SCHEME = /\b(basic|bearer|token)(\s+)[A-Za-z0-9+/=._~-]{4,}/gi;
const PASSWORD_PARAM = /([?&](?:p|password|token|access_token)=)[^&\s"']*/gi;

/** Text with URL userinfo, credentials after an auth scheme and password query parameters blanked. */
export function scrubSecrets(text: string): string {
  return text.replace(USERINFO, '$1***@').replace(AUTH_SCHEME, '$1$2[redacted]').replace(PASSWORD_PARAM, '$1[redacted]');
}

interface SafeError {
  type: string;
  message: string;
  code?: string;
  statusCode?: number;
  stack?: string;
  cause?: SafeError;
}

/** What of an error may be logged: never its other properties (requests, responses, client options). */
export function safeError(err: unknown, depth = 0): SafeError | unknown {
  if (!(err instanceof Error)) return typeof err === 'string' ? scrubSecrets(err) : err;
  const out: SafeError = { type: err.constructor.name, message: scrubSecrets(err.message) };
  const { code, statusCode } = err as { code?: unknown; statusCode?: unknown };
  if (typeof code === 'string') out.code = code;
  if (typeof statusCode === 'number') out.statusCode = statusCode;
  if (err.stack !== undefined) out.stack = scrubSecrets(err.stack);
  if (err.cause instanceof Error && depth < 3) out.cause = safeError(err.cause, depth + 1) as SafeError;
  return out;
}

const safeUrl = (value: unknown): unknown => (typeof value === 'string' ? scrubSecrets(value) : value);

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
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    serializers: { err: safeError, error: safeError, url: safeUrl },
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
