/**
 * Flag parsing shared by the benchmarks: one usage error type (run.ts turns
 * it into one line and exit 2) and the checks every benchmark's flags need.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseDuration } from '@iot-hub/device-sim';

export class BenchUsageError extends Error {}

/** node:util parseArgs in strict mode, its errors as BenchUsageError. */
type Options = NonNullable<ParseArgsConfig['options']>;
type FlagValues<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; strict: true; options: O }>>['values'];

export function parseFlags<O extends Options>(argv: readonly string[], options: O): FlagValues<O> {
  try {
    return parseArgs({ args: [...argv], strict: true, options }).values;
  } catch (err) {
    throw new BenchUsageError((err as Error).message.split('. ')[0]);
  }
}

/** A whole number flag ≥ min, or the fallback when absent. */
export function wholeFlag(flag: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min) throw new BenchUsageError(`--${flag} must be a whole number ≥ ${min}, got "${text}"`);
  return Number(text);
}

/** A duration flag (`30s`, `1m`, `100ms`) in ms. */
export function durationFlag(flag: string, text: string | undefined, fallback: string): number {
  try {
    return parseDuration(`--${flag}`, text ?? fallback);
  } catch (err) {
    throw new BenchUsageError((err as Error).message);
  }
}

/** Progress lines on stderr, prefixed with the benchmark's name. */
export function benchLog(name: string): (message: string) => void {
  return (message) => process.stderr.write(`[${name}] ${message}\n`);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
