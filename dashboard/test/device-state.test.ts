import t from 'tap';
import type { Capabilities, DeviceStateView } from '@iot-hub/protocol';
import { answerIsNewer, canSetKey, formatStateValue, formatSummary, stateRows, stateSummary } from '../src/data/device-state.js';

const T0 = 1_750_000_000_000;

// Shadow semantics [FP-4.3]: desired keeps what operators set; delta = desired keys reported differently.
const view: DeviceStateView = {
  deviceId: 'th-1',
  version: 5,
  reportedVersion: 4,
  reported: { mode: { value: 'heat', ts: T0 }, target: { value: 21.5, ts: T0 }, heating: { value: true, ts: T0 }, brightness: { value: 10, ts: T0 } },
  // target: the device reset to its default (pending); brightness: reached and kept (in sync);
  // schedule: desired, never reported (pending); fan: refused by the device.
  desired: {
    target: { value: 20, ts: T0 + 1 },
    brightness: { value: 10, ts: T0 + 1 },
    schedule: { value: 'night', ts: T0 + 1 },
    fan: { value: 'turbo', ts: T0 + 1 },
  },
  delta: { target: 20, schedule: 'night', fan: 'turbo' },
  refused: { fan: { reason: 'no turbo on battery', value: 'turbo', ts: T0 + 2 } },
};

const THERMOSTAT: Capabilities = {
  kind: 'thermostat',
  metrics: {},
  commands: {},
  heartbeatSec: 60,
  state: {
    mode: { type: 'enum', values: ['heat', 'eco', 'off'], settable: true },
    target: { type: 'number', unit: '°C', min: 5, max: 30, settable: true },
    window: { type: 'string' },
    eco: { type: 'boolean', settable: false },
  },
};

t.test('one row per reported or desired key: refused, then pending, then the rest by name', async (t) => {
  const rows = stateRows(view);
  t.strictSame(
    rows.map((row) => [row.key, row.status]),
    [
      ['fan', 'refused'],
      ['schedule', 'pending'],
      ['target', 'pending'],
      ['brightness', 'in-sync'],
      ['heating', 'reported'],
      ['mode', 'reported'],
    ],
  );
  const target = rows.find((row) => row.key === 'target')!;
  t.strictSame(target.desired, { value: 20, ts: T0 + 1 });
  t.strictSame(target.reported, { value: 21.5, ts: T0 });
  t.equal(target.refused, undefined);
  t.strictSame(rows[0]!.refused, { reason: 'no turbo on battery', value: 'turbo', ts: T0 + 2 });
  t.equal(rows.find((row) => row.key === 'schedule')!.reported, undefined);
  t.ok(rows.every((row) => row.settable), 'a device that declared no state keys: every key can be set, as in 1.0');
  t.strictSame(stateSummary(rows), { pending: 2, refused: 1 });
  t.equal(formatSummary(stateSummary(rows)), '2 pending, 1 refused');
  t.strictSame(stateRows({ ...view, reported: {}, desired: {}, delta: {}, refused: {} }), []);
});

t.test('in sync only when the device reports the desired value, whatever the delta of an older view says', async (t) => {
  const reached: DeviceStateView = { ...view, reported: { target: { value: 20, ts: T0 + 5 } }, desired: { target: { value: 20, ts: T0 + 1 } }, delta: {}, refused: {} };
  t.strictSame(stateRows(reached).map((row) => row.status), ['in-sync']);
  t.equal(formatSummary(stateSummary(stateRows(reached))), 'in sync');
  // The device reset to its default after reaching it: pending again, not "in sync".
  const reset: DeviceStateView = { ...reached, reported: { target: { value: 21.5, ts: T0 + 9 } }, delta: { target: 20 } };
  t.strictSame(stateRows(reset).map((row) => row.status), ['pending']);
  // A reported string "20" is not the desired number 20 (strict equality, as the hub's delta).
  t.strictSame(stateRows({ ...reached, reported: { target: { value: '20', ts: T0 } } }).map((row) => row.status), ['pending']);
});

t.test('a refusal of an older desired value does not mark the current one refused', async (t) => {
  const changed: DeviceStateView = { ...view, desired: { fan: { value: 'low', ts: T0 + 3 } }, delta: { fan: 'low' } };
  const [row] = stateRows(changed);
  t.equal(row!.status, 'pending');
  t.equal(row!.refused, undefined);
});

t.test('declared state keys: settable ones offer Set, others do not; declared keys not yet reported have a row', async (t) => {
  const state: DeviceStateView = {
    ...view,
    reported: { mode: { value: 'heat', ts: T0 }, window: { value: 'closed', ts: T0 }, extra: { value: 1, ts: T0 } },
    desired: {},
    delta: {},
    refused: {},
  };
  const rows = stateRows(state, THERMOSTAT);
  t.strictSame(
    rows.map((row) => [row.key, row.status, row.settable]),
    [
      ['eco', 'declared', false],
      ['extra', 'reported', false],
      ['mode', 'reported', true],
      ['target', 'declared', true],
      ['window', 'reported', false],
    ],
  );
  t.match(rows.find((row) => row.key === 'target')!.spec, { unit: '°C', min: 5, max: 30 });
  t.equal(canSetKey('target', THERMOSTAT), true);
  t.equal(canSetKey('window', THERMOSTAT), false, 'declared, not settable');
  t.equal(canSetKey('eco', THERMOSTAT), false, 'declared settable: false');
  t.equal(canSetKey('ghost', THERMOSTAT), false, 'not declared');
  t.equal(canSetKey('constructor', THERMOSTAT), false, 'not Object.prototype’s');
  t.equal(canSetKey('anything', { ...THERMOSTAT, state: undefined }), true, 'no declaration: anything, as in 1.0');
  t.equal(canSetKey('anything', null), true);
  t.equal(canSetKey('anything', { ...THERMOSTAT, state: {} }), false, 'declared an empty set: nothing is settable');
});

t.test('keys named like Object.prototype members are ordinary keys', async (t) => {
  const odd: DeviceStateView = { ...view, reported: { constructor: { value: 1, ts: T0 } }, desired: {}, delta: {}, refused: {} };
  t.strictSame(stateRows(odd).map((row) => [row.key, row.status]), [['constructor', 'reported']]);
  t.strictSame(stateRows(odd, THERMOSTAT).find((row) => row.key === 'constructor')?.spec, undefined);
});

t.test('an answer replaces the view only with a newer desired version', async (t) => {
  t.ok(answerIsNewer(null, view));
  t.ok(answerIsNewer({ ...view, version: 4 }, view));
  t.notOk(answerIsNewer(view, view), 'the same version: the event that came first is as new');
});

t.test('values as the table shows them', async (t) => {
  t.equal(formatStateValue(true), 'on');
  t.equal(formatStateValue(false), 'off');
  t.equal(formatStateValue(21.5), '21.5');
  t.equal(formatStateValue(21.5, '°C'), '21.5 °C', 'with the declared unit');
  t.equal(formatStateValue('eco', 'x'), 'eco', 'units go with numbers only');
  t.equal(formatStateValue('eco'), 'eco');
  t.equal(formatStateValue(null), 'null');
  t.equal(formatStateValue(undefined), '—');
});
