/**
 * Enabled rules indexed by scope and by what triggers them, so a reading
 * costs a few map lookups per metric (O(rules that can match this device and
 * metric)), not a pass over every rule. Triggers: a metric name (above,
 * below, outside, rate, no_data), PRESENCE (offline) or ERRORS (errors).
 */
import type { AlertRule } from '@iot-hub/protocol';
import type { DeviceScope } from './device-scope.js';
import { conditionMetric } from './rule-checks.js';

/** Not metric names (those match NAME_PATTERN): they cannot collide with one. */
export const PRESENCE = '\0presence';
export const ERRORS = '\0errors';

function scopeKey(rule: AlertRule): string {
  const s = rule.scope;
  switch (s.type) {
    case 'device':
      return `d\0${s.deviceId}`;
    case 'kind':
      return `k\0${s.kind}`;
    case 'label':
      return `l\0${s.label}`;
    case 'room':
      return `r\0${s.room}`;
    case 'all':
      return '*';
  }
}

export function triggerOf(rule: AlertRule): string {
  if (rule.condition.type === 'offline') return PRESENCE;
  if (rule.condition.type === 'errors') return ERRORS;
  return conditionMetric(rule.condition) as string;
}

/** The scope keys a device falls under. */
export function deviceKeys(deviceId: string, scope: DeviceScope): string[] {
  const keys = [`d\0${deviceId}`, `k\0${scope.kind}`, '*'];
  if (scope.room !== null) keys.push(`r\0${scope.room}`);
  for (const label of scope.labels) keys.push(`l\0${label}`);
  return keys;
}

export class RuleIndex {
  /** scope key → trigger → rules. Maps throughout: metric names and ids come from outside. */
  private readonly byScope = new Map<string, Map<string, AlertRule[]>>();
  private readonly byId = new Map<string, AlertRule>();

  get size(): number {
    return this.byId.size;
  }

  get(id: string): AlertRule | undefined {
    return this.byId.get(id);
  }

  all(): IterableIterator<AlertRule> {
    return this.byId.values();
  }

  add(rule: AlertRule): void {
    this.remove(rule.id);
    this.byId.set(rule.id, rule);
    const key = scopeKey(rule);
    let triggers = this.byScope.get(key);
    if (!triggers) this.byScope.set(key, (triggers = new Map()));
    const trigger = triggerOf(rule);
    const list = triggers.get(trigger);
    if (list) list.push(rule);
    else triggers.set(trigger, [rule]);
  }

  remove(id: string): void {
    const rule = this.byId.get(id);
    if (!rule) return;
    this.byId.delete(id);
    const key = scopeKey(rule);
    const triggers = this.byScope.get(key);
    const trigger = triggerOf(rule);
    const list = triggers?.get(trigger);
    if (!triggers || !list) return;
    const rest = list.filter((r) => r.id !== id);
    if (rest.length > 0) triggers.set(trigger, rest);
    else triggers.delete(trigger);
    if (triggers.size === 0) this.byScope.delete(key);
  }

  /** Calls `fn` for each rule the trigger can fire on a device under these scope keys. */
  forEach(keys: readonly string[], trigger: string, fn: (rule: AlertRule) => void): void {
    for (const key of keys) {
      const list = this.byScope.get(key)?.get(trigger);
      if (list) for (const rule of list) fn(rule);
    }
  }

  /** Whether any rule under these keys listens to anything: the cheap exit for a reading nobody watches. */
  watches(keys: readonly string[]): boolean {
    for (const key of keys) if (this.byScope.has(key)) return true;
    return false;
  }
}
