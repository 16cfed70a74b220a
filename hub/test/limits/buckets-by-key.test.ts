/**
 * Per-key buckets stay within their bound however many keys an outsider
 * brings, busy ones included, and a key keeps its limit while it is tracked.
 */
import t from 'tap';
import { BucketsByKey } from '../../src/limits/buckets-by-key.js';
import { LoginLimiter } from '../../src/limits/login-limiter.js';

t.test('busy keys past the bound push the oldest out; the map never grows past it', async (t) => {
  const buckets = new BucketsByKey(1, 1, 100);
  for (let i = 0; i < 1000; i++) t.equal(buckets.tryTake(`k${i}`, 0), true);
  t.equal(buckets.size, 100, 'at most 100 keys, though every bucket is empty (busy)');
  t.equal(buckets.tryTake('k999', 0), false, 'a key still tracked keeps its limit');
});

t.test('idle keys go first', async (t) => {
  const buckets = new BucketsByKey(1, 1, 3);
  buckets.tryTake('old-idle', 0);
  buckets.tryTake('busy-1', 5000);
  buckets.tryTake('busy-2', 5000);
  buckets.tryTake('new', 5000);
  t.equal(buckets.tryTake('busy-1', 5000), false, 'a busy key was kept while an idle one could go');
});

t.test('the login limiter tracks at most 10,000 addresses under a spray of addresses that all stay busy', async (t) => {
  const limiter = new LoginLimiter(10);
  for (let i = 0; i < 30_000; i++) {
    // 10 tries each: every bucket is empty, so nothing is idle to forget.
    for (let j = 0; j < 10; j++) limiter.allow(`2001:db8::${i.toString(16)}`, 1000);
  }
  t.equal(limiter.trackedAddresses, 10_000);
  t.equal(limiter.allow('2001:db8::1', 1000), true, 'an address forgotten under the spray starts again with a fresh burst');
});
