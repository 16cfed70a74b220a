/**
 * Structured JSON logs (pino) to stdout; one logger, children per part.
 *
 * No secret reaches a log line, whoever logs: authorization headers,
 * cookies, passwords and tokens are redacted by path, URLs lose their
 * userinfo, and errors are serialized to their type, message, code and
 * stack only. An error from an HTTP client (node-influx's RequestError)
 * carries its whole request, `Authorization: Basic <user:password>` header
 * included, as enumerable properties: pino's stock serializer would print it.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config/settings.js';

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

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'iot-hub' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    serializers: { err: safeError, error: safeError, url: safeUrl },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
