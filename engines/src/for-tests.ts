import { MissingEngineError } from './missing.js';

interface TapLike {
  teardown(fn: () => unknown): void;
  /** plan(0, reason) marks the test as skipped with the reason. */
  plan(n: number, comment?: string): void;
  fail(message: string): void;
}

/**
 * Starts an engine for a test and stops it at teardown. A missing Debian
 * package skips the test loudly locally and fails it under CI=true, where
 * .ci/run has installed every engine: null means "skipped, return".
 */
export async function engineForTest<E extends { stop(): Promise<void> }>(t: TapLike, start: () => Promise<E>): Promise<E | null> {
  let engine: E;
  try {
    engine = await start();
  } catch (err) {
    if (!(err instanceof MissingEngineError)) throw err;
    if (process.env.CI === 'true') t.fail(err.message);
    else {
      console.error(`SKIPPED LOUDLY: ${err.message}`);
      t.plan(0, err.message);
    }
    return null;
  }
  t.teardown(() => engine.stop());
  return engine;
}
