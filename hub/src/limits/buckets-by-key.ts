/**
 * Token buckets per key (a client address, say), in a map that an outsider
 * cannot grow without bound: past `maxKeys`, buckets that are full again are
 * forgotten (that changes nothing), and if all are busy, the oldest go, which
 * at worst gives those keys a fresh burst.
 */
import { TokenBucket } from './token-bucket.js';

export class BucketsByKey {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly maxKeys: number,
  ) {}

  get size(): number {
    return this.buckets.size;
  }

  /** Takes a token from the key's bucket if one is there now. */
  tryTake(key: string, now: number): boolean {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) this.prune(now);
      bucket = new TokenBucket(this.ratePerSec, this.burst);
      this.buckets.set(key, bucket);
    }
    return bucket.tryTake(now);
  }

  private prune(now: number): void {
    for (const [key, bucket] of this.buckets) if (bucket.isFull(now)) this.buckets.delete(key);
    for (const key of this.buckets.keys()) {
      if (this.buckets.size < this.maxKeys) break;
      this.buckets.delete(key);
    }
  }
}
