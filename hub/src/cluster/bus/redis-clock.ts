/**
 * An estimate of the Redis server's clock (ms), corrected by `TIME` each
 * time a connection comes up and advanced by this process's monotonic
 * clock in between. Senders stamp lost items with it and receivers stamp
 * when they started listening, so the two compare on one clock whatever
 * the nodes' own clocks say. Until the first `TIME`, it is the local clock.
 */
import { performance } from 'node:perf_hooks';

export class RedisClock {
  /** Redis time at performance.now() = 0. */
  private base = Date.now() - performance.now();

  now(): number {
    return Math.round(this.base + performance.now());
  }

  /** `TIME`'s reply: [seconds, microseconds]. */
  sync(reply: ReadonlyArray<string | number>): void {
    const redisMs = Number(reply[0]) * 1000 + Number(reply[1]) / 1000;
    if (Number.isFinite(redisMs)) this.base = redisMs - performance.now();
  }
}
