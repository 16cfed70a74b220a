/** Conditions on time rather than values, with real devices: offline for a duration, no data for a duration. */
import t from 'tap';
import { connectDevice } from '../helpers/any-transport-device.js';
import { startTestHub } from '../helpers/hub.js';
import { alertIn, alerts, createRule, sensor, sleep } from './alert-fixtures.js';

t.test('offline for forSec fires; coming back resolves it', async (t) => {
  const hub = await startTestHub(t);
  const dev = await sensor(t, hub, 'gateway-1', { kind: 'gateway' });
  const rule = await createRule(hub, { severity: 'critical', scope: { type: 'kind', kind: 'gateway' }, condition: { type: 'offline' }, forSec: 1 });
  await sleep(200);
  t.same(await alerts(hub), [], 'online: nothing');
  await dev.close();
  const pending = await alertIn(hub, rule.id, dev.id, 'pending');
  t.match(pending, { severity: 'critical', value: null });
  const firing = await alertIn(hub, rule.id, dev.id, 'firing', 5000);
  t.ok((firing.firedAt as number) - firing.startedAt >= 1000, 'fired forSec after it went offline');
  await connectDevice(t, hub, 'ws', dev.id, dev.token);
  const resolved = await alertIn(hub, rule.id, dev.id, 'resolved');
  t.equal(resolved.id, firing.id);
});

t.test('no_data: a metric not reported for forSec fires; a reading resolves it', async (t) => {
  const hub = await startTestHub(t);
  const dev = await sensor(t, hub, 'probe');
  const rule = await createRule(hub, { scope: { type: 'device', deviceId: dev.id }, condition: { type: 'no_data', metric: 'temp' }, forSec: 1 });
  await dev.read({ temp: 5 });
  await sleep(300);
  t.same(await alerts(hub), [], 'fresh data: nothing');
  const firing = await alertIn(hub, rule.id, dev.id, 'firing', 5000);
  const device = (await hub.api('GET', `/api/devices/${dev.id}`)).body as { latest: { temp: { ts: number } } };
  t.equal(firing.startedAt, device.latest.temp.ts + 1000, 'stale from forSec after the last reading');
  t.equal(firing.summary, 'test rule: no temp from probe for 1 s');
  await dev.read({ temp: 6 });
  const resolved = await alertIn(hub, rule.id, dev.id, 'resolved');
  t.equal(resolved.id, firing.id);
  // The deadline starts again from the new reading.
  const again = await alertIn(hub, rule.id, dev.id, 'firing', 5000);
  t.not(again.id, firing.id, 'a new episode, a new id');
});
