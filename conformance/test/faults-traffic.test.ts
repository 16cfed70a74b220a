/** Broken devices, what they send by themselves: each fails exactly its check [FP-4.2, FP-5]. */
import t from 'tap';
import { expectFailures } from './helpers/faults.js';

t.test('a device that sends nothing between its answers', (t) =>
  expectFailures(t, 'skips-heartbeats', { heartbeat: /^silent for \d+\.\d s from .* \(heartbeatSec 5\): send something, a ping if nothing else, at least every 5 s/ }));

t.test('a device that restarts seq at 0 on every reconnect, in the same boot', (t) =>
  expectFailures(t, 'restarts-seq', { seq: /^seq 0 of boot 1 numbers two different samples .*: the counter restarted without a new boot/ }));

t.test('a device that puts ts on the message of a batch', (t) =>
  expectFailures(t, 'batch-top-level-ts', { 'batch-fields': /^the hub refused a batch: message does not match the schema: \(message\): a batch carries "ts" on each sample, not on the message/ }));
