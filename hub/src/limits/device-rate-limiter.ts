/**
 * The per-device message rate [FP-8 `rate_limited`]: one token bucket per
 * device id, kept across reconnects (a flooder gains nothing by
 * reconnecting). The transports decide what waiting means: a message that
 * is acknowledged (MQTT QoS 1, WebSocket `mid`) waits for its token while
 * the hub stops reading that socket, so nothing acknowledged-to-be is lost;
 * a fire-and-forget one over the rate is dropped.
 */
import { TokenBucket } from './token-bucket.js';

export interface DeviceRateOptions {
  /** Sustained messages per second per device; 0 = no limit. */
  ratePerSec: number;
  /** Messages a device may send at once after being quiet. */
  burst: number;
}

/** What to do with one message: handle it now, after `wait` ms, or drop it. */
export type Admission = { wait: number } | 'drop';

const NOW: Admission = Object.freeze({ wait: 0 });

export class DeviceRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  /** For /metrics: messages made to wait for their token, and messages dropped over the rate. */
  readonly counters = { delayed: 0, dropped: 0 };

  constructor(private readonly options: DeviceRateOptions) {}

  get enabled(): boolean {
    return this.options.ratePerSec > 0;
  }

  /** `canWait`: the message will be acknowledged, so it waits for its turn rather than being dropped. */
  admit(deviceId: string, canWait: boolean, now = Date.now()): Admission {
    if (!this.enabled) return NOW;
    let bucket = this.buckets.get(deviceId);
    if (!bucket) this.buckets.set(deviceId, (bucket = new TokenBucket(this.options.ratePerSec, this.options.burst)));
    if (!canWait) {
      if (bucket.tryTake(now)) return NOW;
      this.counters.dropped += 1;
      return 'drop';
    }
    const wait = bucket.reserve(now);
    if (wait === 0) return NOW;
    this.counters.delayed += 1;
    return { wait };
  }

  /** A message that waited was never handled (its connection closed): its token goes back. */
  giveBack(deviceId: string): void {
    this.buckets.get(deviceId)?.giveBack();
  }

  /** Called when a device's connection ends: a full bucket is forgotten, so the map holds only busy devices. */
  release(deviceId: string, now = Date.now()): void {
    if (this.buckets.get(deviceId)?.isFull(now)) this.buckets.delete(deviceId);
  }

  get trackedDevices(): number {
    return this.buckets.size;
  }
}
