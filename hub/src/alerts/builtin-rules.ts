/**
 * The rules every hub offers, stored disabled on first start so a user
 * switches them on (PUT with enabled: true) rather than writing them. Their
 * ids are fixed, so a restart finds them and does not add them again; a
 * deleted built-in comes back, disabled, on the next start.
 */
import type { AlertRule } from '@iot-hub/protocol';
import { DEFAULT_ACTION_INTERVAL_SEC } from './alert-limits.js';
import type { RuleSpec } from './rule-checks.js';

const BUILTINS: ReadonlyArray<{ id: string; spec: RuleSpec }> = [
  {
    id: 'device-offline',
    spec: {
      name: 'Device offline',
      description: '{deviceName} ({device}) has been offline for 5 minutes',
      severity: 'critical',
      enabled: false,
      scope: { type: 'all' },
      condition: { type: 'offline' },
      forSec: 300,
      minFiringSec: 0,
      actions: [],
      actionIntervalSec: DEFAULT_ACTION_INTERVAL_SEC,
    },
  },
  {
    id: 'battery-low',
    spec: {
      name: 'Battery low',
      description: '{deviceName} ({device}) battery at {value} %, below {threshold} %',
      severity: 'warning',
      enabled: false,
      scope: { type: 'all' },
      condition: { type: 'below', metric: 'battery', value: 15, clear: 20 },
      forSec: 0,
      minFiringSec: 0,
      actions: [],
      actionIntervalSec: DEFAULT_ACTION_INTERVAL_SEC,
    },
  },
  {
    id: 'device-errors',
    spec: {
      name: 'Device reporting errors',
      description: '{deviceName} ({device}) sent {value} messages the hub refused within 5 minutes',
      severity: 'warning',
      enabled: false,
      scope: { type: 'all' },
      condition: { type: 'errors', count: 5 },
      forSec: 300,
      minFiringSec: 0,
      actions: [],
      actionIntervalSec: DEFAULT_ACTION_INTERVAL_SEC,
    },
  },
];

/** The built-in rules missing from `existing`, ready to insert. */
export function missingBuiltins(existing: ReadonlySet<string>, now: number): AlertRule[] {
  return BUILTINS.filter((b) => !existing.has(b.id)).map((b) => ({ ...b.spec, id: b.id, builtin: b.id, createdAt: now, updatedAt: now, version: 1 }));
}
