import t from 'tap';
import type { DeviceStateView } from '@iot-hub/protocol';
import { answerIsNewer, formatStateValue, pendingCount, stateRows } from '../src/data/device-state.js';

const T0 = 1_750_000_000_000;

const view: DeviceStateView = {
  deviceId: 'th-1',
  version: 5,
  reportedVersion: 4,
  reported: { mode: { value: 'heat', ts: T0 }, target: { value: 21, ts: T0 }, heating: { value: true, ts: T0 }, brightness: { value: 10, ts: T0 } },
  // target: the device reports something else (pending); brightness: the report predates the request (confirming);
  // schedule: desired, never reported.
  desired: { target: { value: 19, ts: T0 + 1 }, brightness: { value: 10, ts: T0 + 1 }, schedule: { value: 'night', ts: T0 + 1 } },
  delta: { target: 19, schedule: 'night' },
  refused: {},
};

t.test('one row per reported or desired key, waiting ones first', async (t) => {
  const rows = stateRows(view);
  t.strictSame(
    rows.map((row) => [row.key, row.status]),
    [
      ['brightness', 'confirming'],
      ['schedule', 'pending'],
      ['target', 'pending'],
      ['heating', 'in-sync'],
      ['mode', 'in-sync'],
    ],
  );
  const target = rows.find((row) => row.key === 'target')!;
  t.strictSame(target.desired, { value: 19, ts: T0 + 1 });
  t.strictSame(target.reported, { value: 21, ts: T0 });
  t.equal(rows.find((row) => row.key === 'schedule')!.reported, undefined);
  t.equal(pendingCount(view), 3);
  t.strictSame(stateRows({ ...view, reported: {}, desired: {}, delta: {} }), []);
});

t.test('keys named like Object.prototype members are ordinary keys', async (t) => {
  const odd: DeviceStateView = { ...view, reported: { constructor: { value: 1, ts: T0 } }, desired: {}, delta: {} };
  t.strictSame(stateRows(odd).map((row) => [row.key, row.status]), [['constructor', 'in-sync']]);
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
  t.equal(formatStateValue('eco'), 'eco');
  t.equal(formatStateValue(null), 'null');
  t.equal(formatStateValue(undefined), '—');
});
