/**
 * device-sim's library, connected to a real test hub over each transport,
 * passes every check: its thermostat model behind a SimulatedDevice, with a
 * 5 s heartbeat and a sample a second so the run stays short. device-sim
 * names no boot yet, which the runner warns about (recommended) and no more.
 */
import t from 'tap';
import type { DeviceStateView } from '@iot-hub/protocol';
import { MqttDevice, SimulatedDevice, Thermostat, WsDevice, deviceWsUrl, silentLogger, type DeviceModel } from '@iot-hub/device-sim';
import { eventually } from '../../hub/test/helpers/clients.js';
import { startTestHub } from '../../hub/test/helpers/hub.js';
import { describe, runAgainst, withStatus } from './helpers/run.js';

/** The thermostat, declaring a 5 s heartbeat. */
function thermostat(): DeviceModel {
  const model = new Thermostat({ seed: 1 });
  return {
    kind: model.kind,
    hello: () => ({ ...model.hello(), heartbeatSec: 5 }),
    sample: (now) => model.sample(now),
    state: () => model.state(),
    command: (name, params, now) => model.command(name, params, now),
    applyDesired: (desired, now) => model.applyDesired(desired, now),
  };
}

for (const transport of ['mqtt', 'ws'] as const) {
  t.test(`device-sim over ${transport}: every check passes`, async (t) => {
    const hub = await startTestHub(t);
    const id = `sim-${transport}`;
    const { token } = await hub.provision(id, 'thermostat');
    // Back 1.5-3 s after a disconnect: time for the runner to change desired state while it is
    // away, and for at least one sample to be kept and then sent as a batch.
    const backoff = { initialMs: 3000, maxMs: 3000 };
    const connection = transport === 'mqtt' ? new MqttDevice({ url: hub.mqttUrl, id, token, backoff }) : new WsDevice({ url: deviceWsUrl(hub.httpUrl), id, token, backoff });
    const device = new SimulatedDevice({ model: thermostat(), connection, intervalMs: 1000, log: silentLogger });
    await device.start();
    t.teardown(() => device.stop());
    const target = await eventually(async () => ((await hub.api('GET', `/api/devices/${id}/state`)).body as DeviceStateView).reported.target?.value, 5000, 'the reported target');
    t.type(target, 'number', 'the thermostat reported its target');

    const report = await runAgainst(hub, id, { value: (target as number) + 1.5 });
    if (!report.ok) t.comment(describe(report));
    t.same(withStatus(report, 'fail'), [], 'nothing fails');
    t.same(withStatus(report, 'skip'), [], 'nothing skipped');
    t.same(withStatus(report, 'warn'), [], 'no warnings: device-sim names its boot');
    t.match(report.checks.find((c) => c.id === 'command-duplicate')?.detail, /^set_target \{"target":17\.5\} sent twice/, 'a command with a required parameter gets a sample value');
    t.match(report.checks.find((c) => c.id === 'batch-fields')?.detail, /^\d+ batch\(es\)/, 'the samples kept while away came as a batch');
  });
}
