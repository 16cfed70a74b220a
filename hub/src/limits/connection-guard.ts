/**
 * Admission of new device connections, MQTT and WebSocket alike, before any
 * work is spent on them: a cap on authenticated device connections (checked
 * at the door, and again when a connection authenticates), and a rate of new
 * connections per client IP (token bucket), so one host reconnecting in a
 * loop cannot starve the others. Connections that have not authenticated yet
 * are bounded apart (unauthenticated-connections.ts): they never take a
 * device's place.
 */
import type { Transport } from '@iot-hub/protocol';
import { TokenBucket } from './token-bucket.js';

export interface ConnectionGuardOptions {
  /** Authenticated device connections (MQTT + device WebSocket) at most. */
  maxConnections: number;
  /** New connections per second per client IP; 0 = no limit. */
  ipConnectRate: number;
  /** New connections an IP may open at once. */
  ipConnectBurst: number;
  /** Authenticated device connections open now. */
  openConnections: () => number;
}

export type ConnectionRefusal = 'max-connections' | 'ip-rate';

/** Past this many tracked IPs, buckets that are full again are forgotten (and then the oldest). */
const MAX_TRACKED_IPS = 10_000;

export class ConnectionGuard {
  private readonly perIp = new Map<string, TokenBucket>();
  /** For /metrics: refusals by transport and reason. */
  readonly refused: Record<Transport, Record<ConnectionRefusal, number>> = {
    mqtt: { 'max-connections': 0, 'ip-rate': 0 },
    ws: { 'max-connections': 0, 'ip-rate': 0 },
  };

  constructor(private readonly options: ConnectionGuardOptions) {}

  /** null = take the connection; otherwise why not (counted). */
  admit(ip: string | undefined, transport: Transport, now = Date.now()): ConnectionRefusal | null {
    const refusal = this.check(ip ?? 'unknown', now);
    if (refusal) this.refused[transport][refusal] += 1;
    return refusal;
  }

  /**
   * A connection has just authenticated: null = it may become a device
   * connection. A device replacing its own connection takes no new place.
   */
  admitAuthenticated(transport: Transport, replacing: boolean): ConnectionRefusal | null {
    if (replacing || this.options.openConnections() < this.options.maxConnections) return null;
    this.refused[transport]['max-connections'] += 1;
    return 'max-connections';
  }

  private check(ip: string, now: number): ConnectionRefusal | null {
    const { maxConnections, ipConnectRate, ipConnectBurst } = this.options;
    if (this.options.openConnections() >= maxConnections) return 'max-connections';
    if (ipConnectRate === 0) return null;
    let bucket = this.perIp.get(ip);
    if (!bucket) {
      if (this.perIp.size >= MAX_TRACKED_IPS) this.prune(now);
      this.perIp.set(ip, (bucket = new TokenBucket(ipConnectRate, ipConnectBurst)));
    }
    return bucket.tryTake(now) ? null : 'ip-rate';
  }

  private prune(now: number): void {
    for (const [ip, bucket] of this.perIp) if (bucket.isFull(now)) this.perIp.delete(ip);
    // Many IPs all busy at once: forget the oldest; at worst they get a fresh burst.
    for (const ip of this.perIp.keys()) {
      if (this.perIp.size < MAX_TRACKED_IPS) break;
      this.perIp.delete(ip);
    }
  }
}
