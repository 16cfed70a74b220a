/** Webhook retries back off 1, 2, 4 … s, ±20 % at random, capped at 60 s. */
import t from 'tap';
import { RETRY_CAP_MS, retryDelayMs } from '../../src/alerts/notify/retry-backoff.js';

t.test('doubling from 1 s to the cap, with ±20 % jitter', async (t) => {
  const mid = (): number => 0.5;
  t.same([1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => retryDelayMs(n, mid)), [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  t.equal(retryDelayMs(1, () => 0), 800, 'at least 80 %');
  t.equal(retryDelayMs(1, () => 1), 1200, 'at most 120 %');
  t.equal(retryDelayMs(100, () => 1), RETRY_CAP_MS * 1.2, 'a huge attempt count neither overflows nor passes the cap and its jitter');
});
