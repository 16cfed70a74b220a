/**
 * A device written to the spec passes every check; the runner's own
 * promises too: it leaves desired state as it found it, and leaves no
 * tracked command behind (probes are not commands).
 */
import t from 'tap';
import type { CommandListResponse, DeviceStateView } from '@iot-hub/protocol';
import { startTestHub } from '../../hub/test/helpers/hub.js';
import { CHECKS } from '../src/report.js';
import { startFakeDevice } from './helpers/fake-device.js';
import { describe, runAgainst, withStatus } from './helpers/run.js';

t.test('a conformant MQTT device: every check passes', async (t) => {
  const hub = await startTestHub(t);
  const { token } = await hub.provision('fake-ok', 'thermostat');
  await startFakeDevice(t, hub.mqttUrl, 'fake-ok', token).ready;
  const report = await runAgainst(hub, 'fake-ok');
  if (!report.ok) t.comment(describe(report));
  t.same(withStatus(report, 'pass'), CHECKS.map((c) => c.id), 'every check passes');
  t.equal(report.ok, true);
  t.same(report.counts, { pass: CHECKS.length, fail: 0, warn: 0, skip: 0 });

  const state = (await hub.api('GET', '/api/devices/fake-ok/state')).body as DeviceStateView;
  t.equal(state.desired.target, undefined, 'the desired key the runner set is removed again');
  t.same(((await hub.api('GET', '/api/devices/fake-ok/commands')).body as CommandListResponse).commands, [], 'no tracked command');
});
