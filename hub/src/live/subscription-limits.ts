/**
 * What one dashboard viewer may make the hub hold: device subscriptions per
 * socket and sockets per user. Both are keyed by names an outsider chooses
 * (device ids in requests) or owns (accounts), so both are bounded here,
 * and every refusal is counted for /metrics.
 */
import { ProtocolError } from '@iot-hub/protocol';
import type { Principal } from '../auth/roles.js';
import { clip } from '../log-safe.js';

export interface SubscriptionLimitOptions {
  /** Devices one socket may subscribe to by id. */
  maxDevicesPerSocket: number;
  /** Sockets one user (or the admin token) may hold open. */
  maxSocketsPerUser: number;
  /** Whether a device exists and the principal may see it. */
  visible(deviceId: string, principal: Principal): boolean;
}

export type DashboardRefusal = 'unknown_device' | 'too_many_subscriptions' | 'too_many_sockets';

/** How many unknown ids a refusal names, each cut: the answer stays small whatever was sent. */
const NAMED_IDS = 5;

export class SubscriptionLimits {
  /** Open sockets per user key; an entry exists only while its user has a socket open. */
  private readonly sockets = new Map<string, number>();
  readonly refused: Record<DashboardRefusal, number> = { unknown_device: 0, too_many_subscriptions: 0, too_many_sockets: 0 };

  constructor(private readonly options: SubscriptionLimitOptions) {}

  /** Takes a socket place for the principal, or throws too_many_sockets. Pair with releaseSocket(). */
  admitSocket(principal: Principal): void {
    const key = userKey(principal);
    const open = this.sockets.get(key) ?? 0;
    if (open >= this.options.maxSocketsPerUser) {
      this.refused.too_many_sockets += 1;
      throw new ProtocolError('too_many_sockets', `${principal.username ?? principal.actor} has ${open} open (--dashboard-max-sockets-per-user): close one first`);
    }
    this.sockets.set(key, open + 1);
  }

  releaseSocket(principal: Principal): void {
    const key = userKey(principal);
    const open = (this.sockets.get(key) ?? 1) - 1;
    if (open > 0) this.sockets.set(key, open);
    else this.sockets.delete(key);
  }

  /**
   * Checks a subscribe to `devices` on a socket already subscribed to
   * `held`: every id must be a device the principal sees, and the socket
   * must stay within its limit. Throws before anything is added, so a
   * refused request changes nothing.
   */
  checkSubscribe(devices: readonly string[], held: ReadonlyMap<string, unknown>, principal: Principal): void {
    const max = this.options.maxDevicesPerSocket;
    // A list longer than the limit cannot fit: refused before it is walked.
    const added = devices.length > max ? devices.length : new Set(devices.filter((d) => !held.has(d))).size;
    if (held.size + added > max) {
      this.refused.too_many_subscriptions += 1;
      throw new ProtocolError('too_many_subscriptions', `it has ${held.size}, ${added} more would pass --dashboard-max-subscriptions (${max}): unsubscribe some, or subscribe to "*"`);
    }
    const unknown = devices.filter((d) => !this.options.visible(d, principal));
    if (unknown.length > 0) {
      this.refused.unknown_device += 1;
      const named = unknown.slice(0, NAMED_IDS).map((d) => JSON.stringify(clip(d, 64)));
      const more = unknown.length > NAMED_IDS ? ', …' : '';
      throw new ProtocolError('not_found', `no device ${named.join(', ')}${more} (${unknown.length} of the ${devices.length} ids): subscribe to provisioned devices only`);
    }
  }
}

/** A user's sessions and API tokens share one budget; the admin token has its own. */
function userKey(principal: Principal): string {
  return principal.userId !== null ? `user:${principal.userId}` : `actor:${principal.actor}`;
}
