/** Broken devices, commands and desired state: each fails exactly its check [FP-4.3, FP-4.4]. */
import t from 'tap';
import { expectFailures } from './helpers/faults.js';

t.test('a device that executes a repeated command id again', (t) =>
  expectFailures(t, 'executes-duplicates', { 'command-duplicate': /^executed again: first answer .*"executions":1.*, repeat answered .*"executions":2/ }));

t.test('a device that executes a command past its expiresAt', (t) =>
  expectFailures(t, 'ignores-expiry', { 'command-expired': /^executed: expiresAt \d+ had passed, yet it answered .*"status":"succeeded"/ }));

t.test('a device that applies desired state but never reports the version', (t) =>
  expectFailures(t, 'stale-version', {
    'desired-connected': /^set target = 22\.5 \(version 1\): no state with version ≥ 1 within 5 s; last state: .*"target":22\.5/,
    'desired-away': /^set target = 21 \(version 2\): no state with version ≥ 2 within 5 s/,
  }));
