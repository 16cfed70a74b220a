/**
 * The rule engine: listens to this hub's EventBus (telemetry, presence,
 * device errors, devices added, changed and removed), tracks each (rule,
 * device) pair whose condition holds or whose alert is open, and moves its
 * alert through pending → firing → resolved (alert-machine.ts). Rules are
 * indexed by scope and trigger (rule-index.ts), so a reading costs only the
 * rules that can match it. Timed judgements (forSec, minFiringSec, no_data
 * deadlines, error windows) share one timer (due-queue.ts).
 *
 * Every transition is stored (alert + history entry) before it is emitted
 * as an `alert` event, and the rule's actions run after that, one
 * transition at a time in order. After a restart the open alerts are
 * loaded and judged again on stored data (latest values, presence and last
 * seen, the alert's own startedAt): nothing already notified is emitted
 * again unless it changes state.
 */
import { randomUUID } from 'node:crypto';
import { ProtocolError, type AlertRule, type AlertState, type AlertView, type MetricValue, type PresenceInfo } from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { EventBus, HubEventMap } from '../events/event-bus.js';
import type { AlertActions } from './alert-actions.js';
import { nextStep, type Timing } from './alert-machine.js';
import type { AlertStore, HistoryInput } from './alert-store.js';
import { renderSummary } from './alert-summary.js';
import { numeric, ratePerMinute, rateHolds, thresholdHolds } from './conditions.js';
import { inScope, type DeviceDirectory, type DeviceFacts, type DeviceScope } from './device-scope.js';
import { DueQueue } from './due-queue.js';
import { ERRORS, PRESENCE, RuleIndex, deviceKeys } from './rule-index.js';
import type { Silences } from './silences.js';

export interface RuleEngineDeps {
  events: EventBus;
  devices: DeviceDirectory;
  store: AlertStore;
  actions: AlertActions;
  silences: Silences;
  log: Logger;
  clock?: () => number;
  /**
   * Cluster mode: whether this node evaluates the device (it owns it). The
   * others' events never reach this engine; their seeding and timers are
   * skipped too. Absent: every device (the single-node hub).
   */
  owns?: (deviceId: string) => boolean;
}

/** One (rule, device) pair the engine watches: its open alert, if any, and whether the condition holds. */
interface Track {
  key: string;
  rule: AlertRule;
  deviceId: string;
  alert: AlertView | null;
  holds: boolean;
  holdsSince: number;
  value: MetricValue | null;
  /** errors conditions: times of the device's recent errors within the window. */
  errors: number[];
}

/** Due-queue keys: a track's next look, a no_data deadline, an errors window. The separator cannot occur in ids. */
const trackKey = (ruleId: string, deviceId: string): string => `t\0${ruleId}\0${deviceId}`;
const noDataKey = (ruleId: string, deviceId: string): string => `n\0${ruleId}\0${deviceId}`;
const errorsKey = (ruleId: string, deviceId: string): string => `e\0${ruleId}\0${deviceId}`;

/** Only what places a device in scopes: the lookup may hand over a bigger object (a registry record). */
function scopeSignature(scope: DeviceScope): string {
  return `${scope.kind}\0${scope.room ?? ''}\0${scope.labels.join('\0')}`;
}

/** Tracks by rule, then device: found with the ids at hand, without building a key. */
class TrackTable {
  private readonly byRule = new Map<string, Map<string, Track>>();

  get(ruleId: string, deviceId: string): Track | undefined {
    return this.byRule.get(ruleId)?.get(deviceId);
  }

  add(t: Track): void {
    let m = this.byRule.get(t.rule.id);
    if (!m) this.byRule.set(t.rule.id, (m = new Map()));
    m.set(t.deviceId, t);
  }

  delete(t: Track): void {
    const m = this.byRule.get(t.rule.id);
    if (m?.get(t.deviceId) !== t) return;
    m.delete(t.deviceId);
    if (m.size === 0) this.byRule.delete(t.rule.id);
  }

  *values(): Generator<Track> {
    for (const m of this.byRule.values()) yield* m.values();
  }
}

function timingOf(rule: AlertRule): Timing {
  // For no_data and errors forSec is the window the condition itself measures: once it holds, it fires.
  const windowed = rule.condition.type === 'no_data' || rule.condition.type === 'errors';
  return { forSec: windowed ? 0 : rule.forSec, minFiringSec: rule.minFiringSec };
}

export class RuleEngine {
  readonly counters = { transitions: 0, evaluationErrors: 0 };
  private readonly index = new RuleIndex();
  /** Every stored rule as this engine last applied it, enabled or not: syncRules() compares versions with it. */
  private readonly known = new Map<string, AlertRule>();
  private readonly tracks = new TrackTable();
  private readonly byAlertId = new Map<string, Track>();
  /** Previous reading per (device, metric), only for metrics some rate rule reads. */
  private readonly previous = new Map<string, Map<string, { value: number; ts: number }>>();
  private readonly rateMetrics = new Map<string, number>();
  /** Scope keys per device, and the scope they were built from (rebuilt when it changes). */
  private readonly keys = new Map<string, { sig: string; keys: string[] }>();
  private readonly due: DueQueue;
  private readonly clock: () => number;
  /** Stores, emits and actions, one transition at a time, in order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly deps: RuleEngineDeps) {
    this.clock = deps.clock ?? Date.now;
    this.due = new DueQueue((key, now) => this.onDue(key, now), this.clock);
  }

  get ruleCount(): number {
    return this.index.size;
  }

  /** Open alerts by state and severity, for /metrics. */
  openAlerts(): AlertView[] {
    const out: AlertView[] = [];
    for (const t of this.tracks.values()) if (t.alert) out.push(t.alert);
    return out;
  }

  openAlert(id: string): AlertView | undefined {
    return this.byAlertId.get(id)?.alert ?? undefined;
  }

  start(rules: readonly AlertRule[], open: readonly AlertView[]): void {
    const now = this.clock();
    for (const rule of rules) {
      this.known.set(rule.id, rule);
      if (rule.enabled) this.addToIndex(rule);
    }
    for (const alert of open) {
      // Another node's device: that node resumes it.
      if (!this.owned(alert.deviceId)) continue;
      const rule = this.index.get(alert.ruleId);
      if (!rule || !this.deps.devices.get(alert.deviceId)) {
        // Its rule was disabled or its device deleted while the hub was down: the episode ends.
        const ended: AlertView = { ...alert, state: 'resolved', resolvedAt: now, since: now };
        void this.persist(rule ?? null, ended, alert.state, { alertId: alert.id, ruleId: alert.ruleId, deviceId: alert.deviceId, severity: alert.severity, to: 'resolved', ts: now, value: alert.value, summary: alert.summary, actor: null });
        continue;
      }
      const t = this.track(rule, alert.deviceId);
      t.alert = alert;
      t.holds = rule.condition.type !== 'errors';
      t.holdsSince = alert.startedAt;
      t.value = alert.value;
      this.byAlertId.set(alert.id, t);
    }
    for (const rule of this.index.all()) this.seed(rule, now);
    // Each device's scope as seeding judged it, so a later change of room or labels is noticed (onDeviceChanged).
    for (const d of this.deps.devices.all()) this.keysOf(d.id);
    const { events } = this.deps;
    events.on(this, 'telemetry', (e) => this.onTelemetry(e));
    events.on(this, 'presence', (e) => this.onPresence(e.deviceId, e.presence, e.lastSeen));
    events.on(this, 'deviceError', (e) => this.onDeviceError(e.deviceId));
    events.on(this, 'deviceAdded', (e) => this.onDeviceChanged(e.device.id));
    events.on(this, 'deviceUpdated', (e) => this.onDeviceChanged(e.device.id));
    events.on(this, 'deviceRemoved', (e) => this.onDeviceRemoved(e.deviceId));
  }

  async stop(): Promise<void> {
    this.deps.events.removeAllFor(this);
    this.due.clearAll();
    await this.chain;
  }

  /** Resolves once every transition so far is stored and emitted. */
  settled(): Promise<void> {
    return this.chain;
  }

  ruleAdded(rule: AlertRule): void {
    this.known.set(rule.id, rule);
    if (!rule.enabled) return;
    this.addToIndex(rule);
    this.seed(rule, this.clock());
  }

  /** A changed scope or condition starts over (open alerts resolve); other changes apply to the open alerts. */
  ruleChanged(before: AlertRule, after: AlertRule): void {
    this.known.set(after.id, after);
    const restart = !after.enabled || JSON.stringify(before.scope) !== JSON.stringify(after.scope) || JSON.stringify(before.condition) !== JSON.stringify(after.condition);
    if (restart) {
      this.ruleRemoved(before);
      this.ruleAdded(after);
      return;
    }
    if (!before.enabled) return this.ruleAdded(after);
    this.addToIndex(after);
    const now = this.clock();
    for (const t of this.tracksOf((t) => t.rule.id === after.id)) {
      t.rule = after;
      this.step(t, now);
    }
  }

  ruleRemoved(rule: AlertRule): void {
    const now = this.clock();
    for (const t of this.tracksOf((t) => t.rule.id === rule.id)) this.close(t, now);
    for (const d of this.deps.devices.all()) {
      this.due.clear(noDataKey(rule.id, d.id));
      this.due.clear(errorsKey(rule.id, d.id));
    }
    this.removeFromIndex(rule);
    this.known.delete(rule.id);
    this.deps.actions.forgetRule(rule.id);
  }

  /**
   * Cluster mode: the rules as stored now, written by any node. Those this
   * engine has not applied yet (new, a higher version, gone) are applied as
   * a local write would; those it wrote itself are already known.
   */
  syncRules(stored: readonly AlertRule[]): void {
    const ids = new Set<string>();
    for (const rule of stored) {
      ids.add(rule.id);
      const known = this.known.get(rule.id);
      if (!known) this.ruleAdded(rule);
      else if (known.version < rule.version) this.ruleChanged(known, rule);
    }
    for (const known of [...this.known.values()]) if (!ids.has(known.id)) this.ruleRemoved(known);
  }

  /**
   * Cluster mode: this node now evaluates the device (it connected here, or
   * its node was lost and this node's reaper marked it). Its open alerts are
   * resumed as stored by the node before (a firing one stays firing, nothing
   * is emitted again), then its presence rules are judged on what is known now.
   */
  adopt(deviceId: string, open: readonly AlertView[]): void {
    const now = this.clock();
    const device = this.deps.devices.get(deviceId);
    for (const alert of open) {
      if (alert.deviceId !== deviceId || this.tracks.get(alert.ruleId, deviceId)?.alert) continue;
      const rule = this.index.get(alert.ruleId);
      if (!rule || !device) {
        const ended: AlertView = { ...alert, state: 'resolved', resolvedAt: now, since: now };
        void this.persist(rule ?? null, ended, alert.state, { alertId: alert.id, ruleId: alert.ruleId, deviceId, severity: alert.severity, to: 'resolved', ts: now, value: alert.value, summary: alert.summary, actor: null });
        continue;
      }
      const t = this.track(rule, deviceId);
      t.alert = alert;
      t.holds = rule.condition.type !== 'errors';
      t.holdsSince = alert.startedAt;
      t.value = alert.value;
      this.byAlertId.set(alert.id, t);
    }
    if (!device) return;
    for (const rule of this.index.all()) {
      if (!inScope(rule.scope, deviceId, device.scope)) continue;
      // Presence and silence are judged now. Readings are not: this node's copy of the latest values
      // of a device that was elsewhere may be old, so an open alert waits for its next reading here.
      const c = rule.condition.type;
      if (c === 'offline' || c === 'no_data') this.seedDevice(rule, device, now);
      else {
        const t = this.tracks.get(rule.id, deviceId);
        if (t) this.step(t, now);
      }
    }
  }

  /** Cluster mode: another node evaluates the device now. Its tracks go without a transition: their alerts stay open in the store for that node. */
  release(deviceId: string): void {
    for (const t of this.tracksOf((t) => t.deviceId === deviceId)) {
      this.due.clear(t.key);
      if (t.alert) this.byAlertId.delete(t.alert.id);
      this.tracks.delete(t);
    }
    for (const rule of this.index.all()) {
      this.due.clear(noDataKey(rule.id, deviceId));
      this.due.clear(errorsKey(rule.id, deviceId));
    }
    this.keys.delete(deviceId);
    this.previous.delete(deviceId);
  }

  /**
   * An operator acknowledged an open alert: stored with a history entry, then emitted. Undefined when it is
   * not open; storage_unavailable, with the alert as it was, when the store refused the write.
   */
  async acknowledge(id: string, by: string, note: string): Promise<AlertView | undefined> {
    const t = this.byAlertId.get(id);
    if (!t?.alert) return undefined;
    const now = this.clock();
    const before = t.alert;
    const alert: AlertView = { ...before, acknowledged: { by, at: now, note } };
    // Set before the write so a transition made while it waits builds on the acknowledged alert.
    t.alert = alert;
    const entry: HistoryInput = { alertId: id, ruleId: alert.ruleId, deviceId: alert.deviceId, severity: alert.severity, to: 'acknowledged', ts: now, value: alert.value, summary: note === '' ? alert.summary : `${alert.summary} (${note})`, actor: by };
    if (await this.persist(t.rule, alert, alert.state, entry)) return alert;
    // Nothing is answered that the store refused: undo the acknowledgement, keeping any transition made since.
    if (t.alert?.id === id) t.alert = t.alert === alert ? before : { ...t.alert, acknowledged: before.acknowledged };
    throw new ProtocolError('storage_unavailable', `the acknowledgement of alert ${JSON.stringify(id)} could not be stored`);
  }

  /** Cluster mode: acknowledgements another node stored for alerts this engine holds are taken into them (nothing is emitted again). */
  acknowledgedElsewhere(stored: readonly AlertView[]): void {
    for (const s of stored) {
      const t = this.byAlertId.get(s.id);
      if (!t?.alert || !s.acknowledged || t.alert.acknowledged?.at === s.acknowledged.at) continue;
      t.alert = { ...t.alert, acknowledged: s.acknowledged };
    }
  }

  /** Silences changed: open alerts whose silencedUntil differs now are stored and emitted again. */
  silencesChanged(): void {
    const now = this.clock();
    for (const t of this.tracks.values()) {
      if (!t.alert) continue;
      const until = this.deps.silences.until(t.rule.id, t.deviceId, this.deps.devices.scopeOf(t.deviceId), now);
      if (until === t.alert.silencedUntil) continue;
      t.alert = { ...t.alert, silencedUntil: until };
      void this.persist(t.rule, t.alert, t.alert.state, null);
    }
  }

  // ---------------------------------------------------------------------------
  // Events

  private onTelemetry(e: HubEventMap['telemetry']): void {
    if (this.index.size === 0) return;
    const keys = this.keysOf(e.deviceId);
    if (keys === null || !this.index.watches(keys)) return;
    const now = this.clock();
    for (const metric of Object.keys(e.metrics)) {
      const value = e.metrics[metric] as MetricValue;
      this.index.forEach(keys, metric, (rule) => this.onReading(rule, e.deviceId, metric, value, e.ts, now));
      if (this.rateMetrics.has(metric)) this.remember(e.deviceId, metric, numeric(value), e.ts);
    }
  }

  private onReading(rule: AlertRule, deviceId: string, metric: string, value: MetricValue, ts: number, now: number): void {
    const c = rule.condition;
    // Two lookups by strings that exist already: no key is built per reading.
    const t = this.tracks.get(rule.id, deviceId);
    let holds: boolean;
    switch (c.type) {
      case 'above':
      case 'below':
      case 'outside':
        holds = thresholdHolds(c, numeric(value), t?.alert?.state === 'firing');
        break;
      case 'rate': {
        const prev = this.previous.get(deviceId)?.get(metric);
        const perMinute = prev ? ratePerMinute(prev, numeric(value), ts) : null;
        if (perMinute === null) return;
        holds = rateHolds(c, perMinute);
        break;
      }
      case 'no_data':
        // The deadline timer reads the registry's latest time when it falls due: a reading costs nothing more here.
        if (!this.due.has(noDataKey(rule.id, deviceId))) this.due.set(noDataKey(rule.id, deviceId), now + rule.forSec * 1000);
        holds = false;
        break;
      default:
        return;
    }
    this.judge(t ?? null, rule, deviceId, holds, now, value, now);
  }

  private onPresence(deviceId: string, presence: PresenceInfo, lastSeen: number | null): void {
    const keys = this.keysOf(deviceId);
    if (keys === null) return;
    const now = this.clock();
    this.index.forEach(keys, PRESENCE, (rule) => this.judgeOffline(rule, deviceId, presence, lastSeen, now));
  }

  private judgeOffline(rule: AlertRule, deviceId: string, presence: PresenceInfo, lastSeen: number | null, now: number): void {
    // Unknown right after a restart: neither online nor offline yet; what was stored stands until the device is heard from or given up on.
    if (presence.status === 'unknown') return;
    const holds = presence.status === 'offline' && presence.reason !== 'never-connected';
    // Silent since the restart: it has been offline since it was last seen, not since the hub gave up waiting.
    const since = presence.reason === 'silent-since-restart' ? (lastSeen ?? presence.since) : presence.since;
    this.judge(this.tracks.get(rule.id, deviceId) ?? null, rule, deviceId, holds, since, null, now);
  }

  private onDeviceError(deviceId: string): void {
    const keys = this.keysOf(deviceId);
    if (keys === null) return;
    const now = this.clock();
    this.index.forEach(keys, ERRORS, (rule) => {
      const t = this.track(rule, deviceId);
      t.errors.push(now);
      this.judgeErrors(t, now);
    });
  }

  private judgeErrors(t: Track, now: number): void {
    const c = t.rule.condition;
    if (c.type !== 'errors') return;
    const windowStart = now - t.rule.forSec * 1000;
    while (t.errors.length > 0 && ((t.errors[0] as number) <= windowStart || t.errors.length > c.count)) t.errors.shift();
    if (t.errors.length > 0) this.due.set(errorsKey(t.rule.id, t.deviceId), (t.errors[0] as number) + t.rule.forSec * 1000 + 1);
    this.judge(t, t.rule, t.deviceId, t.errors.length >= c.count, now, t.errors.length, now);
  }

  /** deviceUpdated comes often (hello, error counts): it costs a pass over the rules only when the device's scope changed. */
  private onDeviceChanged(deviceId: string): void {
    if (!this.owned(deviceId)) return;
    const scope = this.deps.devices.scopeOf(deviceId);
    if (!scope) return;
    const sig = scopeSignature(scope);
    const cached = this.keys.get(deviceId);
    if (cached?.sig === sig) return;
    // Cached at once (not at the next reading): a second change before any reading must be judged against this one.
    this.keys.set(deviceId, { sig, keys: deviceKeys(deviceId, scope) });
    const device = this.deps.devices.get(deviceId);
    if (!device) return;
    const now = this.clock();
    // A device new to the hub, or one whose room or labels changed: rules it left end, rules it joined start.
    for (const t of this.tracksOf((t) => t.deviceId === deviceId && !inScope(t.rule.scope, deviceId, scope))) this.close(t, now);
    for (const rule of this.index.all()) if (inScope(rule.scope, deviceId, scope)) this.seedDevice(rule, device, now);
  }

  private onDeviceRemoved(deviceId: string): void {
    const now = this.clock();
    for (const t of this.tracksOf((t) => t.deviceId === deviceId)) this.close(t, now);
    for (const rule of this.index.all()) {
      this.due.clear(noDataKey(rule.id, deviceId));
      this.due.clear(errorsKey(rule.id, deviceId));
    }
    this.keys.delete(deviceId);
    this.previous.delete(deviceId);
    void this.enqueue(() => this.deps.store.deleteAlerts({ deviceId }));
  }

  private onDue(key: string, now: number): void {
    const [kind, ruleId = '', deviceId = ''] = key.split('\0');
    const rule = this.index.get(ruleId);
    if (!rule) return;
    const t = this.tracks.get(ruleId, deviceId);
    if (kind === 't') {
      if (t) this.step(t, now);
    } else if (kind === 'e') {
      if (t) this.judgeErrors(t, now);
    } else if (kind === 'n') {
      const device = this.deps.devices.get(deviceId);
      if (device && this.owned(deviceId)) this.judgeNoData(rule, device, now);
    }
  }

  // ---------------------------------------------------------------------------
  // Judging

  /** no_data: stale when the newest reading (or, without one, the later of the rule's last change and the device's creation) is forSec old. */
  private judgeNoData(rule: AlertRule, device: DeviceFacts, now: number): void {
    if (rule.condition.type !== 'no_data') return;
    const last = device.latest.get(rule.condition.metric)?.ts ?? Math.max(rule.updatedAt, device.createdAt);
    const deadline = last + rule.forSec * 1000;
    const t = this.tracks.get(rule.id, device.id) ?? null;
    if (now < deadline) {
      this.due.set(noDataKey(rule.id, device.id), deadline);
      if (t) this.judge(t, rule, device.id, false, now, null, now);
      return;
    }
    this.judge(t, rule, device.id, true, deadline, null, now);
  }

  /** Applies whether the condition holds (since when) to the pair's track, creating one only when it holds. */
  private judge(t: Track | null, rule: AlertRule, deviceId: string, holds: boolean, since: number, value: MetricValue | null, now: number): void {
    if (!t && !holds) return;
    const track = t ?? this.track(rule, deviceId);
    if (holds && !track.holds) track.holdsSince = since;
    track.holds = holds;
    if (value !== null) track.value = value;
    this.step(track, now);
  }

  private step(t: Track, now: number): void {
    const timing = timingOf(t.rule);
    // At most two moves at once (none → pending → firing can't happen in one step, but resolved → new episode can follow).
    for (let i = 0; i < 2; i++) {
      const s = nextStep(t.alert, t.holds, t.holdsSince, now, timing);
      if (s.dueAt !== null) this.due.set(t.key, s.dueAt);
      else this.due.clear(t.key);
      if (s.to === null) break;
      this.transition(t, s.to, now);
    }
    if (!t.alert && !t.holds && t.errors.length === 0) this.tracks.delete(t);
  }

  private transition(t: Track, to: AlertState, now: number): void {
    const prev = t.alert;
    const from = prev?.state ?? null;
    const device = this.deps.devices.get(t.deviceId);
    const base: AlertView = prev ?? {
      id: `al_${randomUUID()}`,
      ruleId: t.rule.id,
      ruleName: t.rule.name,
      deviceId: t.deviceId,
      severity: t.rule.severity,
      state: to,
      startedAt: t.holdsSince,
      firedAt: null,
      resolvedAt: null,
      since: now,
      value: null,
      summary: '',
      acknowledged: null,
      silencedUntil: null,
    };
    const alert: AlertView = {
      ...base,
      ruleName: t.rule.name,
      severity: t.rule.severity,
      state: to,
      since: now,
      firedAt: to === 'firing' ? now : base.firedAt,
      resolvedAt: to === 'resolved' ? now : null,
      value: t.value,
      summary: renderSummary(t.rule, { id: t.deviceId, name: device?.name ?? t.deviceId }, t.value),
      silencedUntil: this.deps.silences.until(t.rule.id, t.deviceId, this.deps.devices.scopeOf(t.deviceId), now),
    };
    if (prev) this.byAlertId.delete(prev.id);
    if (to === 'resolved') t.alert = null;
    else {
      t.alert = alert;
      this.byAlertId.set(alert.id, t);
    }
    this.counters.transitions += 1;
    const entry: HistoryInput = { alertId: alert.id, ruleId: alert.ruleId, deviceId: alert.deviceId, severity: alert.severity, to, ts: now, value: alert.value, summary: alert.summary, actor: null };
    void this.persist(t.rule, alert, from, entry);
  }

  /** Ends the pair's open alert at once (its rule or device went away), whatever minFiringSec says. */
  private close(t: Track, now: number): void {
    this.due.clear(t.key);
    this.due.clear(errorsKey(t.rule.id, t.deviceId));
    if (t.alert) this.transition(t, 'resolved', now);
    this.tracks.delete(t);
  }

  // ---------------------------------------------------------------------------
  // Storing and emitting

  /**
   * Stored, then emitted, then the rule's actions for a firing or an end of firing: in order, one at a time.
   * Resolves whether the store took the write (a failure is logged and counted here).
   */
  private persist(rule: AlertRule | null, alert: AlertView, from: AlertState | null, entry: HistoryInput | null): Promise<boolean> {
    const { store, events, actions } = this.deps;
    let stored = false;
    const done = this.enqueue(async () => {
      await store.saveAlert(alert, entry);
      stored = true;
      events.emit('alert', { alert, from });
      if (!rule || entry === null || entry.to === 'acknowledged') return;
      const on = alert.state === 'firing' && from !== 'firing' ? 'firing' : alert.state === 'resolved' && from === 'firing' ? 'resolved' : null;
      if (on === null || rule.actions.length === 0) return;
      for (const e of await actions.run(rule, alert, on, alert.since)) await store.appendHistory(e);
    });
    return done.then(() => stored);
  }

  /** Runs work after everything enqueued before it; the returned promise never rejects. */
  private enqueue(work: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(work).catch((err: unknown) => {
      this.counters.evaluationErrors += 1;
      this.deps.log.error({ err }, 'storing or emitting an alert transition failed: it was not notified');
    });
    return this.chain;
  }

  // ---------------------------------------------------------------------------
  // Bookkeeping

  /** The pair's track, created when missing. */
  private track(rule: AlertRule, deviceId: string): Track {
    let t = this.tracks.get(rule.id, deviceId);
    if (!t) {
      t = { key: trackKey(rule.id, deviceId), rule, deviceId, alert: null, holds: false, holdsSince: 0, value: null, errors: [] };
      this.tracks.add(t);
    }
    return t;
  }

  private *tracksOf(pick: (t: Track) => boolean): Generator<Track> {
    for (const t of [...this.tracks.values()]) if (pick(t)) yield t;
  }

  private owned(deviceId: string): boolean {
    return this.deps.owns?.(deviceId) ?? true;
  }

  private keysOf(deviceId: string): string[] | null {
    if (!this.owned(deviceId)) return null;
    const cached = this.keys.get(deviceId);
    if (cached) return cached.keys;
    const scope = this.deps.devices.scopeOf(deviceId);
    if (!scope) return null;
    const keys = deviceKeys(deviceId, scope);
    this.keys.set(deviceId, { sig: scopeSignature(scope), keys });
    return keys;
  }

  private remember(deviceId: string, metric: string, value: number, ts: number): void {
    let m = this.previous.get(deviceId);
    if (!m) this.previous.set(deviceId, (m = new Map()));
    const prev = m.get(metric);
    if (!prev || prev.ts < ts) m.set(metric, { value, ts });
  }

  private addToIndex(rule: AlertRule): void {
    const before = this.index.get(rule.id);
    if (before) this.removeFromIndex(before);
    this.index.add(rule);
    if (rule.condition.type === 'rate') this.rateMetrics.set(rule.condition.metric, (this.rateMetrics.get(rule.condition.metric) ?? 0) + 1);
  }

  private removeFromIndex(rule: AlertRule): void {
    const indexed = this.index.get(rule.id);
    if (!indexed) return;
    this.index.remove(rule.id);
    if (indexed.condition.type !== 'rate') return;
    const n = (this.rateMetrics.get(indexed.condition.metric) ?? 1) - 1;
    if (n > 0) this.rateMetrics.set(indexed.condition.metric, n);
    else this.rateMetrics.delete(indexed.condition.metric);
  }

  /** Judges every device in the rule's scope on what is known now. */
  private seed(rule: AlertRule, now: number): void {
    if (rule.scope.type === 'device') {
      const d = this.deps.devices.get(rule.scope.deviceId);
      if (d && this.owned(d.id)) this.seedDevice(rule, d, now);
      return;
    }
    for (const d of this.deps.devices.all()) if (this.owned(d.id) && inScope(rule.scope, d.id, d.scope)) this.seedDevice(rule, d, now);
  }

  private seedDevice(rule: AlertRule, device: DeviceFacts, now: number): void {
    const c = rule.condition;
    const t = this.tracks.get(rule.id, device.id) ?? null;
    switch (c.type) {
      case 'above':
      case 'below':
      case 'outside': {
        const latest = device.latest.get(c.metric);
        if (latest) this.judge(t, rule, device.id, thresholdHolds(c, numeric(latest.value), t?.alert?.state === 'firing'), now, latest.value, now);
        else if (t) this.step(t, now);
        return;
      }
      case 'no_data':
        return this.judgeNoData(rule, device, now);
      case 'offline':
        if (device.presence.status === 'unknown' && t) return this.step(t, now);
        return this.judgeOffline(rule, device.id, device.presence, device.lastSeen, now);
      case 'errors':
        if (t) this.judgeErrors(t, now);
        return;
      case 'rate':
        if (t) this.step(t, now);
        return;
    }
  }
}
