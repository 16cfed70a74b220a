/**
 * The last line of defence, installed by main.ts (the only owner of the
 * process): an exception or rejection nothing handled is logged and counted
 * (iot_hub_uncaught_errors_total) instead of ending the process, so one
 * outsider's connection that slips past the per-socket handlers cannot stop
 * the hub for every device ([G2]). Each one is still a bug to
 * fix: the log line carries the stack.
 */
import type { Logger } from 'pino';
import { SampledLog } from './sampled-log.js';

export type UncaughtKind = 'uncaught_exception' | 'unhandled_rejection';

/** Counts for /metrics; made by main.ts and handed to the hub. */
export class UncaughtErrors {
  readonly counts: Record<UncaughtKind, number> = { uncaught_exception: 0, unhandled_rejection: 0 };
}

/** Installs the handlers; returns a function that removes them. */
export function installProcessGuard(proc: NodeJS.Process, log: Logger, errors: UncaughtErrors): () => void {
  const sampled = new SampledLog(log);
  const onException = (err: Error): void => {
    errors.counts.uncaught_exception += 1;
    sampled.error('uncaught_exception', { err }, 'uncaught exception: the hub carries on (a bug: please report it with this stack)');
  };
  const onRejection = (reason: unknown): void => {
    errors.counts.unhandled_rejection += 1;
    sampled.error('unhandled_rejection', { err: reason }, 'unhandled promise rejection: the hub carries on (a bug: please report it with this stack)');
  };
  proc.on('uncaughtException', onException);
  proc.on('unhandledRejection', onRejection);
  return () => {
    proc.off('uncaughtException', onException);
    proc.off('unhandledRejection', onRejection);
  };
}
