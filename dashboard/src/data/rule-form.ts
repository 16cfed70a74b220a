/**
 * The rule form's model: flat text fields as the inputs hold them, turned
 * into a RuleInput for the API and back from a stored rule. The hub checks
 * the rule (docs/alerts.md, Checks); its messages start with the field they
 * are about (`condition.clear must be…`), which fieldOfMessage reads so the
 * form shows each next to its input. No DOM.
 */
import type { AlertRule, AlertSeverity, RuleCondition, RuleConditionType, RuleInput, RuleScope } from '@iot-hub/protocol';

export const CONDITION_TYPES: readonly RuleConditionType[] = ['above', 'below', 'outside', 'rate', 'no_data', 'offline', 'errors'];
export const SCOPE_TYPES: readonly RuleScope['type'][] = ['device', 'kind', 'room', 'label', 'all'];

/** The inputs each condition type shows (besides the type). */
export const CONDITION_FIELDS: Readonly<Record<RuleConditionType, readonly (keyof RuleFormFields)[]>> = Object.freeze({
  above: ['metric', 'value', 'clear'],
  below: ['metric', 'value', 'clear'],
  outside: ['metric', 'low', 'high', 'clearMargin'],
  rate: ['metric', 'perMinute', 'direction'],
  no_data: ['metric'],
  offline: [],
  errors: ['count'],
});

export interface RuleFormFields {
  name: string;
  description: string;
  severity: AlertSeverity;
  enabled: boolean;
  scopeType: RuleScope['type'];
  /** The device id, kind, room or label the scope names. */
  scopeValue: string;
  conditionType: RuleConditionType;
  metric: string;
  value: string;
  clear: string;
  low: string;
  high: string;
  clearMargin: string;
  perMinute: string;
  direction: 'rise' | 'fall' | 'either';
  count: string;
  forSec: string;
  minFiringSec: string;
  /** An optional command action: empty device means none. */
  actionDeviceId: string;
  actionName: string;
  actionOn: 'firing' | 'resolved';
  /** JSON object text, or empty. */
  actionParams: string;
}

export const EMPTY_RULE_FORM: RuleFormFields = Object.freeze({
  name: '',
  description: '',
  severity: 'warning',
  enabled: true,
  scopeType: 'all',
  scopeValue: '',
  conditionType: 'above',
  metric: '',
  value: '',
  clear: '',
  low: '',
  high: '',
  clearMargin: '',
  perMinute: '',
  direction: 'either',
  count: '',
  forSec: '0',
  minFiringSec: '0',
  actionDeviceId: '',
  actionName: '',
  actionOn: 'firing',
  actionParams: '',
});

/** A problem found before sending, or read from the hub's answer: the field it belongs to (API path) and the words. */
export interface FieldProblem {
  field: string;
  message: string;
}

export class RuleFormError extends Error {
  constructor(readonly problem: FieldProblem) {
    super(`${problem.field}: ${problem.message}`);
    this.name = 'RuleFormError';
  }
}

/** A number from a text input; blank gives undefined, anything not a number is a problem for that field. */
function num(text: string, field: string, required: boolean): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') {
    if (required) throw new RuleFormError({ field, message: 'is required' });
    return undefined;
  }
  const n = Number(trimmed);
  if (!Number.isFinite(n)) throw new RuleFormError({ field, message: `must be a number, got ${JSON.stringify(trimmed)}` });
  return n;
}

function condition(f: RuleFormFields): RuleCondition {
  const metric = f.metric.trim();
  switch (f.conditionType) {
    case 'above':
    case 'below': {
      const clear = num(f.clear, 'condition.clear', false);
      return { type: f.conditionType, metric, value: num(f.value, 'condition.value', true) as number, ...(clear === undefined ? {} : { clear }) };
    }
    case 'outside': {
      const clearMargin = num(f.clearMargin, 'condition.clearMargin', false);
      return {
        type: 'outside',
        metric,
        low: num(f.low, 'condition.low', true) as number,
        high: num(f.high, 'condition.high', true) as number,
        ...(clearMargin === undefined ? {} : { clearMargin }),
      };
    }
    case 'rate':
      return { type: 'rate', metric, perMinute: num(f.perMinute, 'condition.perMinute', true) as number, direction: f.direction };
    case 'no_data':
      return { type: 'no_data', metric };
    case 'offline':
      return { type: 'offline' };
    case 'errors':
      return { type: 'errors', count: num(f.count, 'condition.count', true) as number };
  }
}

function scope(f: RuleFormFields): RuleScope {
  const value = f.scopeValue.trim();
  switch (f.scopeType) {
    case 'device':
      return { type: 'device', deviceId: value };
    case 'kind':
      return { type: 'kind', kind: value };
    case 'room':
      return { type: 'room', room: value };
    case 'label':
      return { type: 'label', label: value };
    case 'all':
      return { type: 'all' };
  }
}

/** The API's field path for a scope's value: what the hub's messages name. */
export function scopeField(type: RuleScope['type']): string {
  return type === 'device' ? 'scope.deviceId' : `scope.${type}`;
}

/** The RuleInput the form describes; throws RuleFormError for a number that is not one or a bad params object. */
export function ruleFromForm(f: RuleFormFields): RuleInput {
  const rule: RuleInput = {
    name: f.name.trim(),
    description: f.description,
    severity: f.severity,
    enabled: f.enabled,
    scope: scope(f),
    condition: condition(f),
    forSec: num(f.forSec, 'forSec', false) ?? 0,
    minFiringSec: num(f.minFiringSec, 'minFiringSec', false) ?? 0,
    actions: [],
  };
  if (f.actionDeviceId.trim() !== '') {
    let params: Record<string, unknown> | undefined;
    if (f.actionParams.trim() !== '') {
      try {
        params = JSON.parse(f.actionParams) as Record<string, unknown>;
      } catch {
        throw new RuleFormError({ field: 'actions[0].params', message: 'must be a JSON object, e.g. {"mode": "eco"}' });
      }
      if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new RuleFormError({ field: 'actions[0].params', message: 'must be a JSON object' });
    }
    rule.actions = [{ type: 'command', on: f.actionOn, deviceId: f.actionDeviceId.trim(), name: f.actionName.trim(), ...(params ? { params } : {}) }];
  }
  return rule;
}

/** The form filled with a stored rule, to edit it. */
export function formFromRule(rule: AlertRule): RuleFormFields {
  const f: RuleFormFields = { ...EMPTY_RULE_FORM, name: rule.name, description: rule.description, severity: rule.severity, enabled: rule.enabled };
  f.scopeType = rule.scope.type;
  const s = rule.scope;
  f.scopeValue = s.type === 'device' ? s.deviceId : s.type === 'kind' ? s.kind : s.type === 'room' ? s.room : s.type === 'label' ? s.label : '';
  const c = rule.condition;
  f.conditionType = c.type;
  if ('metric' in c) f.metric = c.metric;
  if (c.type === 'above' || c.type === 'below') {
    f.value = String(c.value);
    f.clear = c.clear === undefined ? '' : String(c.clear);
  } else if (c.type === 'outside') {
    f.low = String(c.low);
    f.high = String(c.high);
    f.clearMargin = c.clearMargin === undefined ? '' : String(c.clearMargin);
  } else if (c.type === 'rate') {
    f.perMinute = String(c.perMinute);
    f.direction = c.direction;
  } else if (c.type === 'errors') {
    f.count = String(c.count);
  }
  f.forSec = String(rule.forSec);
  f.minFiringSec = String(rule.minFiringSec);
  const action = rule.actions[0];
  if (action) {
    f.actionDeviceId = action.deviceId;
    f.actionName = action.name;
    f.actionOn = action.on ?? 'firing';
    f.actionParams = action.params === undefined ? '' : JSON.stringify(action.params);
  }
  return f;
}

/**
 * The field a hub message is about: its path (`condition.clear must…`,
 * `scope.deviceId: no device…`, `actions[0].name: …`), at the start or after
 * the catalog's words (`bad request: condition.clear must…`), or `form`
 * when it names none.
 */
export function fieldOfMessage(message: string): FieldProblem {
  for (let at = 0; at !== -1 && at < message.length; at = message.indexOf(': ', at + 1)) {
    const rest = at === 0 ? message : message.slice(at + 2);
    const match = /^([A-Za-z]+(?:\.[A-Za-z]+|\[\d+\])*)(?::\s*|\s+)(.*)$/s.exec(rest);
    const field = match?.[1];
    if (field !== undefined && (KNOWN_FIELDS.has(field) || /^(condition|scope|actions)[.[]/.test(field))) return { field, message: match?.[2] as string };
  }
  return { field: 'form', message };
}

const KNOWN_FIELDS: ReadonlySet<string> = new Set(['name', 'description', 'severity', 'enabled', 'scope', 'condition', 'forSec', 'minFiringSec', 'actions', 'actionIntervalSec']);
