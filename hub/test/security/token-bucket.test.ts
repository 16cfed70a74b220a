/** The token bucket behind the device rate and the per-IP connection rate (hub/src/limits). */
import t from 'tap';
import { ConnectionGuard } from '../../src/limits/connection-guard.js';
import { DeviceRateLimiter } from '../../src/limits/device-rate-limiter.js';
import { TokenBucket } from '../../src/limits/token-bucket.js';

t.test('a full bucket gives its burst at once, then one token per interval', async (t) => {
  const bucket = new TokenBucket(10, 3); // 100 ms per token
  const now = 1_000_000;
  t.same([1, 2, 3, 4].map(() => bucket.tryTake(now)), [true, true, true, false], 'burst of 3');
  t.equal(bucket.tryTake(now + 99), false, 'not before the interval');
  t.equal(bucket.tryTake(now + 100), true, 'one token after 100 ms');
  t.equal(bucket.tryTake(now + 100), false);
  t.equal(bucket.isFull(now + 100), false);
  t.equal(bucket.isFull(now + 400), true, 'full again once idle');
});

t.test('reserve hands out future tokens in order, giveBack returns the last one', async (t) => {
  const bucket = new TokenBucket(10, 2);
  const now = 5_000;
  t.same([0, 1, 2, 3].map(() => bucket.reserve(now)), [0, 0, 100, 200], 'waits grow by one interval');
  t.equal(bucket.tryTake(now), false, 'nothing left now');
  bucket.giveBack();
  bucket.giveBack();
  t.equal(bucket.reserve(now), 100, 'the returned tokens are handed out again');
  t.throws(() => new TokenBucket(0, 1), RangeError);
});

t.test('device rate: acknowledged messages wait, the rest are dropped; 0 turns it off', async (t) => {
  const limiter = new DeviceRateLimiter({ ratePerSec: 10, burst: 1 });
  t.same(limiter.admit('a', true, 0), { wait: 0 });
  t.same(limiter.admit('a', true, 0), { wait: 100 });
  t.equal(limiter.admit('a', false, 0), 'drop');
  t.same(limiter.admit('b', false, 0), { wait: 0 }, 'each device has its own bucket');
  t.same(limiter.counters, { delayed: 1, dropped: 1 });
  limiter.release('a', 50);
  t.equal(limiter.trackedDevices, 2, 'a busy bucket is kept');
  limiter.release('b', 1_000);
  t.equal(limiter.trackedDevices, 1, 'an idle one is forgotten');
  const off = new DeviceRateLimiter({ ratePerSec: 0, burst: 1 });
  for (let i = 0; i < 1000; i++) t.same(off.admit('a', false, 0), { wait: 0 });
  t.equal(off.trackedDevices, 0);
});

t.test('connection guard: the cap first, then the per-IP rate, counted by transport', async (t) => {
  let open = 0;
  const guard = new ConnectionGuard({ maxConnections: 2, ipConnectRate: 1, ipConnectBurst: 2, openConnections: () => open });
  t.equal(guard.admit('10.0.0.1', 'mqtt', 0), null);
  t.equal(guard.admit('10.0.0.1', 'ws', 0), null);
  t.equal(guard.admit('10.0.0.1', 'mqtt', 0), 'ip-rate');
  t.equal(guard.admit('10.0.0.2', 'mqtt', 0), null, 'another address has its own rate');
  open = 2;
  t.equal(guard.admit('10.0.0.3', 'ws', 0), 'max-connections');
  t.same(guard.refused, { mqtt: { 'max-connections': 0, 'ip-rate': 1 }, ws: { 'max-connections': 1, 'ip-rate': 0 } });
});
