/**
 * The shape of a rule an operator sends (RuleInput), checked field by field
 * so a refusal names the field: 400 bad_request, nothing stored. Pure: what
 * devices declare is checked apart (rule-device-checks.ts).
 */
import { ALERT_SEVERITIES, DEVICE_ID_PATTERN, LABEL_PATTERN, NAME_PATTERN, ROOM_MAX_LENGTH, ROOM_PATTERN, ProtocolError, type AlertSeverity, type CommandAction, type RuleCondition, type RuleInput, type RuleScope } from '@iot-hub/protocol';
import { ALERT_LIMITS, DEFAULT_ACTION_INTERVAL_SEC } from './alert-limits.js';

/** A rule as stored, without what the store adds (id, builtin, times, version). */
export interface RuleSpec {
  name: string;
  description: string;
  severity: AlertSeverity;
  enabled: boolean;
  scope: RuleScope;
  condition: RuleCondition;
  forSec: number;
  minFiringSec: number;
  actions: CommandAction[];
  actionIntervalSec: number;
}

type Json = Record<string, unknown>;

const nameRe = new RegExp(NAME_PATTERN);
const deviceIdRe = new RegExp(DEVICE_ID_PATTERN);
/** A rule's label and room are written as a device's are (PATCH /api/devices/{id}), or no device could match. */
const labelRe = new RegExp(LABEL_PATTERN);
const roomRe = new RegExp(ROOM_PATTERN);

function bad(field: string, problem: string): ProtocolError {
  return new ProtocolError('bad_request', `${field} ${problem}`);
}

function object(value: unknown, field: string, allowed: readonly string[]): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(field, 'must be an object');
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw bad(field, `has an unknown field ${JSON.stringify(key)}; allowed: ${allowed.join(', ')}`);
  }
  return value as Json;
}

function text(value: unknown, field: string, max: number, pattern?: RegExp): string {
  if (typeof value !== 'string' || value.length === 0) throw bad(field, 'must be a non-empty string');
  if (value.length > max) throw bad(field, `must be at most ${max} characters, got ${value.length}`);
  if (pattern && !pattern.test(value)) throw bad(field, `must match ${pattern.source}, got ${JSON.stringify(value.slice(0, 80))}`);
  return value;
}

function finite(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw bad(field, `must be a finite number, got ${JSON.stringify(value)}`);
  return value;
}

function range(value: unknown, field: string, min: number, max: number): number {
  const n = finite(value, field);
  if (n < min || n > max) throw bad(field, `must be within ${min}..${max}, got ${n}`);
  return n;
}

function oneOf<T extends string>(value: unknown, field: string, values: readonly T[]): T {
  if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) throw bad(field, `must be one of ${values.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

function checkScope(value: unknown): RuleScope {
  const type = oneOf((value as Json | null)?.type, 'scope.type', ['device', 'kind', 'label', 'room', 'all'] as const);
  switch (type) {
    case 'device':
      return { type, deviceId: text(object(value, 'scope', ['type', 'deviceId']).deviceId, 'scope.deviceId', 64, deviceIdRe) };
    case 'kind':
      return { type, kind: text(object(value, 'scope', ['type', 'kind']).kind, 'scope.kind', 64, nameRe) };
    case 'label':
      return { type, label: text(object(value, 'scope', ['type', 'label']).label, 'scope.label', 64, labelRe) };
    case 'room':
      return { type, room: text(object(value, 'scope', ['type', 'room']).room, 'scope.room', ROOM_MAX_LENGTH, roomRe) };
    case 'all':
      object(value, 'scope', ['type']);
      return { type };
  }
}

function checkCondition(value: unknown): RuleCondition {
  const type = oneOf((value as Json | null)?.type, 'condition.type', ['above', 'below', 'outside', 'rate', 'no_data', 'offline', 'errors'] as const);
  const metricOf = (c: Json): string => text(c.metric, 'condition.metric', 64, nameRe);
  switch (type) {
    case 'above':
    case 'below': {
      const c = object(value, 'condition', ['type', 'metric', 'value', 'clear']);
      const out: Extract<RuleCondition, { type: 'above' | 'below' }> = { type, metric: metricOf(c), value: finite(c.value, 'condition.value') };
      if (c.clear === undefined) return out;
      const clear = finite(c.clear, 'condition.clear');
      // Hysteresis: the alert clears on the far side of the threshold, never on the firing side.
      if (type === 'above' && clear > out.value) throw bad('condition.clear', `must be at most condition.value (${out.value}) for above, got ${clear}`);
      if (type === 'below' && clear < out.value) throw bad('condition.clear', `must be at least condition.value (${out.value}) for below, got ${clear}`);
      return { ...out, clear };
    }
    case 'outside': {
      const c = object(value, 'condition', ['type', 'metric', 'low', 'high', 'clearMargin']);
      const metric = metricOf(c);
      const low = finite(c.low, 'condition.low');
      const high = finite(c.high, 'condition.high');
      if (low >= high) throw bad('condition.high', `must be above condition.low (${low}), got ${high}`);
      if (c.clearMargin === undefined) return { type, metric, low, high };
      const clearMargin = range(c.clearMargin, 'condition.clearMargin', 0, (high - low) / 2);
      return { type, metric, low, high, clearMargin };
    }
    case 'rate': {
      const c = object(value, 'condition', ['type', 'metric', 'perMinute', 'direction']);
      const perMinute = finite(c.perMinute, 'condition.perMinute');
      if (perMinute <= 0) throw bad('condition.perMinute', `must be above 0, got ${perMinute}`);
      return { type, metric: metricOf(c), perMinute, direction: oneOf(c.direction, 'condition.direction', ['rise', 'fall', 'either'] as const) };
    }
    case 'no_data':
      return { type, metric: metricOf(object(value, 'condition', ['type', 'metric'])) };
    case 'offline':
      object(value, 'condition', ['type']);
      return { type };
    case 'errors': {
      const c = object(value, 'condition', ['type', 'count']);
      const count = range(c.count, 'condition.count', 1, ALERT_LIMITS.maxErrorCount);
      if (!Number.isInteger(count)) throw bad('condition.count', `must be an integer, got ${count}`);
      return { type, count };
    }
  }
}

function checkActions(value: unknown): CommandAction[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw bad('actions', 'must be an array');
  if (value.length > ALERT_LIMITS.maxActions) throw bad('actions', `may hold at most ${ALERT_LIMITS.maxActions} actions, got ${value.length}`);
  return value.map((raw, i): CommandAction => {
    const field = `actions[${i}]`;
    const a = object(raw, field, ['type', 'on', 'deviceId', 'name', 'params']);
    oneOf(a.type, `${field}.type`, ['command'] as const);
    const action: CommandAction = {
      type: 'command',
      on: a.on === undefined ? 'firing' : oneOf(a.on, `${field}.on`, ['firing', 'resolved'] as const),
      deviceId: text(a.deviceId, `${field}.deviceId`, 64, deviceIdRe),
      name: text(a.name, `${field}.name`, 64),
    };
    if (a.params !== undefined) action.params = object(a.params, `${field}.params`, Object.keys(a.params as Json));
    return action;
  });
}

/** A RuleInput from the wire, checked and with its defaults filled in; throws bad_request naming the field. */
export function checkRuleInput(body: unknown): RuleSpec {
  const input = object(body, 'the rule', ['name', 'description', 'severity', 'enabled', 'scope', 'condition', 'forSec', 'minFiringSec', 'actions', 'actionIntervalSec']) as Partial<Record<keyof RuleInput, unknown>>;
  const name = text(input.name, 'name', ALERT_LIMITS.maxNameChars);
  if (name.trim() !== name) throw bad('name', 'must not start or end with spaces');
  let description = '';
  if (input.description !== undefined) {
    if (typeof input.description !== 'string') throw bad('description', 'must be a string');
    if (input.description.length > ALERT_LIMITS.maxDescriptionChars) throw bad('description', `must be at most ${ALERT_LIMITS.maxDescriptionChars} characters, got ${input.description.length}`);
    description = input.description;
  }
  if (input.enabled !== undefined && typeof input.enabled !== 'boolean') throw bad('enabled', 'must be true or false');
  const condition = checkCondition(input.condition);
  const forSec = input.forSec === undefined ? 0 : range(input.forSec, 'forSec', 0, ALERT_LIMITS.maxDurationSec);
  // These conditions are about time itself: without a window they would hold at once, for ever.
  if ((condition.type === 'no_data' || condition.type === 'errors') && forSec <= 0) throw bad('forSec', `must be above 0 for a ${condition.type} condition: it is the window`);
  return {
    name,
    description,
    severity: oneOf(input.severity, 'severity', ALERT_SEVERITIES),
    enabled: input.enabled ?? true,
    scope: checkScope(input.scope),
    condition,
    forSec,
    minFiringSec: input.minFiringSec === undefined ? 0 : range(input.minFiringSec, 'minFiringSec', 0, ALERT_LIMITS.maxDurationSec),
    actions: checkActions(input.actions),
    actionIntervalSec: input.actionIntervalSec === undefined ? DEFAULT_ACTION_INTERVAL_SEC : range(input.actionIntervalSec, 'actionIntervalSec', 1, ALERT_LIMITS.maxActionIntervalSec),
  };
}

/** The metric a condition reads, if it reads one. */
export function conditionMetric(condition: RuleCondition): string | null {
  return 'metric' in condition ? condition.metric : null;
}
