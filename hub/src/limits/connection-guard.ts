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
import { BucketsByKey } from './buckets-by-key.js';

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

/** Client addresses whose connect rate is tracked at most (BucketsByKey forgets idle ones first). */
const MAX_TRACKED_IPS = 10_000;

export class ConnectionGuard {
  private readonly perIp: BucketsByKey | null;
  /** For /metrics: refusals by transport and reason. */
  readonly refused: Record<Transport, Record<ConnectionRefusal, number>> = {
    mqtt: { 'max-connections': 0, 'ip-rate': 0 },
    ws: { 'max-connections': 0, 'ip-rate': 0 },
  };

  constructor(private readonly options: ConnectionGuardOptions) {
    this.perIp = options.ipConnectRate === 0 ? null : new BucketsByKey(options.ipConnectRate, options.ipConnectBurst, MAX_TRACKED_IPS);
  }

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
    if (this.options.openConnections() >= this.options.maxConnections) return 'max-connections';
    if (!this.perIp) return null;
    return this.perIp.tryTake(ip, now) ? null : 'ip-rate';
  }
}
