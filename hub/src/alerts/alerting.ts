/**
 * Alerting as the rest of the hub sees it: rules (checked, stored, handed to
 * the engine), alerts (listed, acknowledged), their history and silences.
 * Owns the store, the engine, the actions and the silences; start() after
 * the registry and commands, stop() before them.
 */
import { randomUUID } from 'node:crypto';
import {
  ProtocolError,
  SILENCE_MAX_SEC,
  type AlertRule,
  type AlertView,
  type RuleListResponse,
  type RuleWriteResponse,
  type SilenceInput,
  type SilenceView,
} from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { Audit } from '../audit/audit-log.js';
import type { Commands } from '../commands/commands.js';
import type { EventBus } from '../events/event-bus.js';
import { AlertActions } from './alert-actions.js';
import { ALERT_LIMITS } from './alert-limits.js';
import type { AlertFilter, AlertStore, HistoryFilter, HistoryInput, RuleStore } from './alert-store.js';
import { missingBuiltins } from './builtin-rules.js';
import type { DeviceDirectory } from './device-scope.js';
import { checkRuleInput } from './rule-checks.js';
import { checkRuleAgainstDevices } from './rule-device-checks.js';
import { RuleEngine } from './rule-engine.js';
import { Silences } from './silences.js';

/** How often history, old resolved alerts and ended silences are pruned. */
const PRUNE_INTERVAL_MS = 3_600_000;

export interface AlertingDeps {
  store: RuleStore & AlertStore & { open(): Promise<void>; close(): Promise<void> };
  events: EventBus;
  devices: DeviceDirectory;
  commands: Commands;
  audit: Audit;
  log: Logger;
  clock?: () => number;
  /** Cluster mode: the devices this node evaluates (RuleEngineDeps.owns). */
  owns?: (deviceId: string) => boolean;
  /** Cluster mode: stores an acknowledgement of an alert another node evaluates (false: it is no longer open). */
  acknowledgeElsewhere?: (alert: AlertView, entry: HistoryInput) => Promise<boolean>;
}

export class Alerting {
  readonly engine: RuleEngine;
  readonly actions: AlertActions;
  readonly silences = new Silences();
  private pruneTimer: NodeJS.Timeout | null = null;
  private readonly clock: () => number;

  constructor(private readonly deps: AlertingDeps) {
    this.clock = deps.clock ?? Date.now;
    this.actions = new AlertActions({ commands: deps.commands, audit: deps.audit, log: deps.log });
    this.engine = new RuleEngine({ events: deps.events, devices: deps.devices, store: deps.store, actions: this.actions, silences: this.silences, log: deps.log, ...(deps.clock ? { clock: deps.clock } : {}), ...(deps.owns ? { owns: deps.owns } : {}) });
  }

  async start(): Promise<void> {
    const { store } = this.deps;
    await store.open();
    const now = this.clock();
    await store.prune(now);
    const stored = await store.listRules();
    const builtins = missingBuiltins(new Set(stored.map((r) => r.id)), now);
    for (const rule of builtins) {
      // Nodes of a cluster starting at once insert the same built-ins: the one that lost finds it stored.
      await store.insertRule(rule).catch(async (err: unknown) => {
        if (!(await store.getRule(rule.id))) throw err;
      });
    }
    this.silences.load(await store.listSilences());
    this.engine.start([...stored, ...builtins], await store.openAlerts());
    this.pruneTimer = setInterval(() => {
      store.prune(this.clock()).catch((err: unknown) => this.deps.log.warn({ err }, 'pruning the alert history failed; the next hour tries again'));
    }, PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
    this.deps.log.info({ rules: stored.length + builtins.length, enabled: this.engine.ruleCount }, 'alerting started');
  }

  async stop(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = null;
    await this.engine.stop();
    await this.deps.store.close();
  }

  async listRules(): Promise<RuleListResponse> {
    return { rules: await this.deps.store.listRules() };
  }

  async getRule(id: string): Promise<AlertRule> {
    const rule = await this.deps.store.getRule(id);
    if (!rule) throw new ProtocolError('not_found', `no rule ${JSON.stringify(id)}`);
    return rule;
  }

  async createRule(body: unknown): Promise<RuleWriteResponse> {
    const spec = checkRuleInput(body);
    const warnings = checkRuleAgainstDevices(spec, this.deps.devices);
    if ((await this.deps.store.countRules()) >= ALERT_LIMITS.maxRules) {
      throw new ProtocolError('too_many_rules', `the hub keeps at most ${ALERT_LIMITS.maxRules} rules: delete some first`);
    }
    const now = this.clock();
    const rule: AlertRule = { ...spec, id: `rule_${randomUUID()}`, builtin: null, createdAt: now, updatedAt: now, version: 1 };
    await this.deps.store.insertRule(rule);
    this.engine.ruleAdded(rule);
    return { rule, warnings };
  }

  /** PUT: a whole RuleInput, and `ifVersion` to refuse (409 version_conflict) a change made since it was read. */
  async replaceRule(id: string, body: unknown): Promise<{ before: AlertRule; response: RuleWriteResponse }> {
    let ifVersion: number | undefined;
    let input = body;
    if (typeof body === 'object' && body !== null && !Array.isArray(body) && 'ifVersion' in body) {
      const { ifVersion: v, ...rest } = body as Record<string, unknown>;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ProtocolError('bad_request', `ifVersion must be a positive integer, got ${JSON.stringify(v)}`);
      ifVersion = v;
      input = rest;
    }
    const spec = checkRuleInput(input);
    const before = await this.getRule(id);
    if (ifVersion !== undefined && ifVersion !== before.version) {
      throw new ProtocolError('version_conflict', `rule ${JSON.stringify(id)} is at version ${before.version}, not ${ifVersion}`);
    }
    const warnings = checkRuleAgainstDevices(spec, this.deps.devices);
    const rule: AlertRule = { ...spec, id, builtin: before.builtin, createdAt: before.createdAt, updatedAt: this.clock(), version: before.version + 1 };
    if (!(await this.deps.store.replaceRule(rule))) {
      throw new ProtocolError('version_conflict', `rule ${JSON.stringify(id)} changed while this change was checked: read it again`);
    }
    this.engine.ruleChanged(before, rule);
    return { before, response: { rule, warnings } };
  }

  /** Its open alerts resolve (stored, emitted), then the rule and its current alerts go; the history stays. */
  async deleteRule(id: string): Promise<AlertRule> {
    const rule = await this.getRule(id);
    this.engine.ruleRemoved(rule);
    await this.engine.settled();
    await this.deps.store.deleteAlerts({ ruleId: id });
    await this.deps.store.deleteRule(id);
    return rule;
  }

  async listAlerts(filter: AlertFilter): Promise<AlertView[]> {
    await this.engine.settled();
    return this.deps.store.listAlerts(filter);
  }

  async acknowledge(id: string, by: string, note: string): Promise<AlertView> {
    if (note.length > ALERT_LIMITS.maxNoteChars) throw new ProtocolError('bad_request', `note must be at most ${ALERT_LIMITS.maxNoteChars} characters, got ${note.length}`);
    const acked = await this.engine.acknowledge(id, by, note);
    if (acked) return acked;
    const stored = await this.deps.store.getAlert(id);
    if (!stored) throw new ProtocolError('not_found', `no alert ${JSON.stringify(id)}`);
    if (this.deps.acknowledgeElsewhere && stored.state !== 'resolved') {
      // Another node evaluates its device: the acknowledgement is stored here and that node copies it at its next poll.
      const now = this.clock();
      const alert: AlertView = { ...stored, acknowledged: { by, at: now, note } };
      const entry: HistoryInput = { alertId: id, ruleId: alert.ruleId, deviceId: alert.deviceId, severity: alert.severity, to: 'acknowledged', ts: now, value: alert.value, summary: note === '' ? alert.summary : `${alert.summary} (${note})`, actor: by };
      if (await this.deps.acknowledgeElsewhere(alert, entry)) {
        this.deps.events.emit('alert', { alert, from: alert.state });
        return alert;
      }
    }
    throw new ProtocolError('conflict', `alert ${JSON.stringify(id)} is resolved: there is nothing to acknowledge`);
  }

  async history(filter: HistoryFilter): Promise<ReturnType<AlertStore['history']>> {
    await this.engine.settled();
    return this.deps.store.history(filter);
  }

  listSilences(): SilenceView[] {
    const now = this.clock();
    return this.silences.list().filter((s) => s.until > now);
  }

  async createSilence(input: SilenceInput, by: string): Promise<SilenceView> {
    const now = this.clock();
    if (input.ruleId === undefined && input.deviceId === undefined && input.label === undefined && input.room === undefined) {
      throw new ProtocolError('bad_request', 'a silence needs at least one of ruleId, deviceId, label, room');
    }
    if (input.until <= now) throw new ProtocolError('bad_request', `until (${input.until}) must be after the hub's time (${now})`);
    if (input.until > now + SILENCE_MAX_SEC * 1000) throw new ProtocolError('bad_request', `until may be at most ${SILENCE_MAX_SEC} s ahead`);
    if (input.ruleId !== undefined && !(await this.deps.store.getRule(input.ruleId))) throw new ProtocolError('not_found', `ruleId: no rule ${JSON.stringify(input.ruleId)}`);
    if (input.deviceId !== undefined && !this.deps.devices.get(input.deviceId)) throw new ProtocolError('not_found', `deviceId: no device ${JSON.stringify(input.deviceId)}`);
    if (this.silences.size >= ALERT_LIMITS.maxSilences) {
      await this.deps.store.prune(now);
      this.silences.load(await this.deps.store.listSilences());
      if (this.silences.size >= ALERT_LIMITS.maxSilences) throw new ProtocolError('too_many_rules', `the hub keeps at most ${ALERT_LIMITS.maxSilences} silences: delete some first`);
    }
    const silence: SilenceView = { ...input, id: `sil_${randomUUID()}`, createdBy: by, createdAt: now };
    await this.deps.store.insertSilence(silence);
    this.silences.add(silence);
    this.engine.silencesChanged();
    return silence;
  }

  async deleteSilence(id: string): Promise<SilenceView> {
    const silence = this.silences.get(id);
    if (!silence || !(await this.deps.store.deleteSilence(id))) throw new ProtocolError('not_found', `no silence ${JSON.stringify(id)}`);
    this.silences.remove(id);
    this.engine.silencesChanged();
    return silence;
  }
}
