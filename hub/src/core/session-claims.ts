/**
 * Cluster mode: which node holds a device's session is decided by a store
 * all nodes share (PostgreSQL, see cluster/ownership). Each claim gets a
 * higher epoch than the last, so a node whose session is older can never
 * mark the device offline or keep it. One hub has no claims at all.
 */
import type { PresenceReason, Transport } from '@iot-hub/protocol';

export interface SessionClaims {
  /**
   * Claims the device for this node before its session opens; resolves the
   * claim's epoch. Rejects when the store cannot be reached: the connection
   * is refused as "server unavailable" and the device retries.
   */
  claim(deviceId: string, transport: Transport): Promise<number>;
  /**
   * The session of this epoch ended. Resolves true when it was still the
   * device's newest claim: only then is the device offline.
   */
  release(deviceId: string, epoch: number, reason: PresenceReason): Promise<boolean>;
}
