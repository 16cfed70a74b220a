/**
 * A rule's description rendered for one device: {device}, {deviceName},
 * {metric}, {value}, {threshold} and {rule} are replaced; anything else in
 * braces stays as written. An empty description gets a plain default.
 */
import type { AlertRule, MetricValue } from '@iot-hub/protocol';
import { conditionMetric } from './rule-checks.js';
import { thresholdText } from './conditions.js';

const PLACEHOLDER = /\{(device|deviceName|metric|value|threshold|rule)\}/g;

function defaultTemplate(rule: AlertRule): string {
  switch (rule.condition.type) {
    case 'offline':
      return '{rule}: {deviceName} offline for {threshold}';
    case 'no_data':
      return '{rule}: no {metric} from {deviceName} for {threshold}';
    case 'errors':
      return '{rule}: {deviceName} caused {value} protocol errors (limit {threshold})';
    default:
      return '{rule}: {metric} of {deviceName} is {value} (threshold {threshold})';
  }
}

export function renderSummary(rule: AlertRule, device: { id: string; name: string }, value: MetricValue | null): string {
  const template = rule.description === '' ? defaultTemplate(rule) : rule.description;
  const values: Record<string, string> = {
    device: device.id,
    deviceName: device.name || device.id,
    metric: conditionMetric(rule.condition) ?? '',
    value: value === null ? '-' : String(value),
    threshold: thresholdText(rule.condition, rule.forSec),
    rule: rule.name,
  };
  return template.replace(PLACEHOLDER, (_m, key: string) => values[key] ?? '');
}
