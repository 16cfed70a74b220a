/**
 * Which devices this node evaluates rules for, in cluster mode, so each
 * device's rules run on exactly one node:
 * - a device this node claims (it connected here) is adopted before its
 *   session opens: its open alerts are read from PostgreSQL first, so a
 *   firing alert stays the same alert, never notified again;
 * - a device whose node was lost is adopted by the node whose reaper marked
 *   it offline (one reaper pass at a time in the cluster, under its advisory
 *   lock): that node judges its offline rules from the `node-lost` presence;
 * - a device another node claimed since (a higher ownership epoch than the
 *   one adopted) is released: its tracks go without a transition. The kick
 *   inbox message says so at once; a check of the ownership rows every
 *   poll catches what the bus dropped (it is at most once).
 * The same poll reads the shared rules version: rules, silences and
 * acknowledgements made on another node are applied here within one poll.
 *
 * The map holds devices this node claimed or reaped, all in the registry:
 * bounded by it, and counted in /metrics (iot_hub_cluster_alert_devices).
 */
import type { Logger } from 'pino';
import type { Alerting } from '../../alerts/alerting.js';
import type { OwnershipStore } from '../ownership/ownership-store.js';
import type { PgAlertStore } from './pg-alert-store.js';

export const DEFAULT_ALERT_POLL_MS = 2_000;

export interface AlertOwnershipOptions {
  store: PgAlertStore;
  ownership: OwnershipStore;
  nodeId: string;
  pollMs?: number;
  log: Logger;
}

export class AlertOwnership {
  /** Device id → the ownership epoch this node adopted it at. */
  private readonly owned = new Map<string, number>();
  private alerting: Alerting | null = null;
  private timer: NodeJS.Timeout | null = null;
  private rulesVersion = -1;
  private polling = false;
  readonly counters = { adopted: 0, released: 0, ruleSyncs: 0, pollFailures: 0 };

  constructor(private readonly options: AlertOwnershipOptions) {}

  /** For the rule engine (RuleEngineDeps.owns). */
  readonly owns = (deviceId: string): boolean => this.owned.has(deviceId);

  get size(): number {
    return this.owned.size;
  }

  /** After Alerting.start(): the version read now is the one its rules were loaded at (or older: one more sync is harmless). */
  async start(alerting: Alerting): Promise<void> {
    this.alerting = alerting;
    this.rulesVersion = await this.options.store.rulesVersion();
    const ms = this.options.pollMs ?? DEFAULT_ALERT_POLL_MS;
    this.timer = setInterval(() => void this.poll(), ms);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.alerting = null;
  }

  /**
   * This node evaluates these devices from now on (claimed here at `epoch`, or
   * reaped). Rejects when PostgreSQL cannot be reached: a claim then fails
   * and the device retries, so no device is evaluated without its alerts.
   */
  async adopt(devices: readonly { deviceId: string; epoch: number }[]): Promise<void> {
    const fresh = devices.filter((d) => {
      const held = this.owned.get(d.deviceId);
      if (held === undefined) return true;
      this.owned.set(d.deviceId, Math.max(held, d.epoch));
      return false;
    });
    if (fresh.length === 0 || !this.alerting) {
      for (const d of fresh) this.owned.set(d.deviceId, d.epoch);
      return;
    }
    const open = await this.options.store.openAlertsOf(fresh.map((d) => d.deviceId));
    for (const d of fresh) {
      // Claimed elsewhere while the alerts were read: that node has it.
      if (this.owned.has(d.deviceId)) continue;
      this.owned.set(d.deviceId, d.epoch);
      this.counters.adopted += 1;
      this.alerting.engine.adopt(d.deviceId, open.filter((a) => a.deviceId === d.deviceId));
    }
  }

  /** Another node holds the device now (a kick, or a newer claim seen by the poll), or it was deleted. */
  release(deviceId: string): void {
    if (!this.owned.delete(deviceId)) return;
    this.counters.released += 1;
    this.alerting?.engine.release(deviceId);
  }

  /** One pass: rules and silences changed elsewhere, then devices claimed elsewhere. Exposed for tests. */
  async poll(): Promise<void> {
    const alerting = this.alerting;
    if (this.polling || !alerting) return;
    this.polling = true;
    try {
      const { store, ownership, nodeId } = this.options;
      const version = await store.rulesVersion();
      if (version !== this.rulesVersion) {
        const [rules, silences] = await Promise.all([store.listRules(), store.listSilences()]);
        this.rulesVersion = version;
        this.counters.ruleSyncs += 1;
        alerting.engine.syncRules(rules);
        alerting.silences.load(silences);
        alerting.engine.silencesChanged();
        if (this.owned.size > 0) alerting.engine.acknowledgedElsewhere(await store.openAlertsOf([...this.owned.keys()]));
      }
      if (this.owned.size === 0) return;
      const rows = await ownership.ownersOf([...this.owned.keys()]);
      for (const [deviceId, epoch] of [...this.owned]) {
        const row = rows.get(deviceId);
        // No row: the device was deleted (on any node); its alerts went with it.
        if (!row || (row.nodeId !== nodeId && row.epoch > epoch)) this.release(deviceId);
      }
    } catch (err) {
      this.counters.pollFailures += 1;
      this.options.log.warn({ err }, 'checking alert rules and device owners failed; the next poll tries again');
    } finally {
      this.polling = false;
    }
  }
}
