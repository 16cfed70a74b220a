/** The time checks of telemetry samples without a hub [FP-4.2]: bad_timestamp for age, ts_conflict orderings. */
import t from 'tap';
import type { LatestValue } from '@iot-hub/protocol';
import { checkTimes, findTsConflict, sampleTime } from '../../src/telemetry/sample-times.js';

const now = 1_800_000_000_000;

t.test('age is arrival - age; absent ts and age leave the stamp to the hub', async (t) => {
  t.equal(sampleTime({ age: 1500, metrics: {} }, now), now - 1500);
  t.equal(sampleTime({ ts: 5, metrics: {} }, now), 5);
  t.equal(sampleTime({ metrics: {} }, now), undefined);
});

t.test('an age older than the store keeps is bad_timestamp, naming the age and the limit', async (t) => {
  const maxAge = { maxPastMs: 3_600_000, detail: 'the store keeps raw readings for 1h' };
  t.equal(checkTimes([{ age: 3_600_000, metrics: { t: 1 } }], now, maxAge), null, 'at the limit');
  const refused = checkTimes([{ age: 3_600_001, metrics: { t: 1 } }], now, maxAge);
  t.match(refused, { error: 'bad_timestamp', status: 400 });
  t.ok(refused?.message.endsWith(`: age 3600001 ms (ts ${now - 3_600_001}) is behind the hub clock by 3600001 ms; the store keeps raw readings for 1h`), String(refused?.message));
  t.match(checkTimes([{ ts: now + 300_001, metrics: { t: 1 } }], now, undefined), { error: 'bad_timestamp' });
});

t.test('ts_conflict within a batch in any order, and against the latest reading', async (t) => {
  const none = new Map<string, LatestValue>();
  t.equal(findTsConflict([{ ts: 3, metrics: { a: 1 } }, { ts: 2, metrics: { a: 2 } }, { ts: 1, metrics: { a: 3 } }], now, none), null, 'newest first');
  t.equal(findTsConflict([{ ts: 1, metrics: { a: 1 } }, { ts: 3, metrics: { a: 2 } }, { ts: 2, metrics: { b: 1 } }, { ts: 3, metrics: { b: 2 } }], now, none), null, 'unordered, distinct metrics');
  t.match(findTsConflict([{ ts: 1, metrics: { a: 1 } }, { ts: 3, metrics: { a: 2 } }, { ts: 1, metrics: { a: 5 } }], now, none), { error: 'ts_conflict', message: /metric "a" at ts 1: 5 here, 1 in sample 0 of this message/ });
  t.equal(findTsConflict([{ ts: 1, metrics: { a: true } }, { ts: 1, metrics: { a: true } }], now, none), null, 'the same value twice');
  const latest = new Map<string, LatestValue>([['on', { ts: 7, value: 1 }]]);
  t.equal(findTsConflict([{ ts: 7, metrics: { on: true } }], now, latest), null, 'true is the 1 the store gave back');
  t.match(findTsConflict([{ ts: 7, metrics: { on: false } }], now, latest), { error: 'ts_conflict', message: /false here, 1 held by the hub/ });
  t.equal(findTsConflict([{ metrics: { on: false } }], now, new Map([['on', { ts: now, value: 1 }]])), null, 'hub-stamped samples are not checked');
});
