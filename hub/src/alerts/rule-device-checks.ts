/**
 * A rule against what devices declare [FP-4.1]: a rule on one device must
 * name a metric that device declares (422 unknown_metric); a rule on a kind,
 * label, room or every device gets a warning when no device in scope
 * declares it yet (devices of a kind may come later). Command actions must
 * be commands their target declares, with matching params.
 */
import { ProtocolError, commandProblem } from '@iot-hub/protocol';
import type { DeviceDirectory, DeviceFacts } from './device-scope.js';
import { inScope } from './device-scope.js';
import { conditionMetric, type RuleSpec } from './rule-checks.js';

function declares(device: DeviceFacts, metric: string): boolean {
  return device.metricNames.has(metric) || (device.capabilities !== null && Object.hasOwn(device.capabilities.metrics, metric));
}

function scopeText(spec: RuleSpec): string {
  const s = spec.scope;
  return s.type === 'all' ? 'any device' : s.type === 'device' ? `device ${JSON.stringify(s.deviceId)}` : `any device of ${s.type} ${JSON.stringify(s.type === 'kind' ? s.kind : s.type === 'label' ? s.label : s.room)}`;
}

/** Throws a ProtocolError naming the field; returns warnings (allowed, but probably not what was meant). */
export function checkRuleAgainstDevices(spec: RuleSpec, devices: DeviceDirectory): string[] {
  const warnings: string[] = [];
  const metric = conditionMetric(spec.condition);
  if (spec.scope.type === 'device') {
    const device = devices.get(spec.scope.deviceId);
    if (!device) throw new ProtocolError('not_found', `scope.deviceId: no device ${JSON.stringify(spec.scope.deviceId)}`);
    if (metric !== null && !declares(device, metric)) {
      const known = [...device.metricNames];
      throw new ProtocolError('unknown_metric', `condition.metric: device ${JSON.stringify(device.id)} declares no metric ${JSON.stringify(metric)}; it has ${known.length === 0 ? 'none (it has not sent hello yet)' : known.join(', ')}`);
    }
  } else {
    let inScopeCount = 0;
    let declaring = 0;
    for (const d of devices.all()) {
      if (!inScope(spec.scope, d.id, d.scope)) continue;
      inScopeCount += 1;
      if (metric !== null && declares(d, metric)) declaring += 1;
    }
    if (inScopeCount === 0) warnings.push(`no device is in scope yet (${scopeText(spec)}): the rule applies to devices as they come`);
    else if (metric !== null && declaring === 0) warnings.push(`condition.metric: none of the ${inScopeCount} devices in scope (${scopeText(spec)}) declares metric ${JSON.stringify(metric)}`);
  }
  spec.actions.forEach((action, i) => {
    const field = `actions[${i}]`;
    const target = devices.get(action.deviceId);
    if (!target) throw new ProtocolError('not_found', `${field}.deviceId: no device ${JSON.stringify(action.deviceId)}`);
    const declared = target.capabilities?.commands;
    if (!declared) throw new ProtocolError('commands_unknown', `${field}: device ${JSON.stringify(action.deviceId)} has not sent hello yet [FP-4.1]`);
    if (!Object.hasOwn(declared, action.name)) {
      const names = Object.keys(declared);
      throw new ProtocolError('unknown_command', `${field}.name: ${JSON.stringify(action.name)}: device ${JSON.stringify(action.deviceId)} declares ${names.length === 0 ? 'no commands' : names.join(', ')}`);
    }
    const problem = commandProblem(declared, action.name, action.params ?? {});
    if (problem !== undefined) throw new ProtocolError('invalid_params', `${field}.params: ${problem}`);
  });
  return warnings;
}
