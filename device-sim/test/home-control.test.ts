/**
 * The simulated home under an operator's control, through the real hub: a
 * plug switches, a thermostat takes a setpoint and a light dims by command,
 * over MQTT and WebSocket, and desired state is applied and kept; a value
 * the device cannot apply is refused and shown.
 */
import t from 'tap';
import type { CommandView, DeviceStateView } from '@iot-hub/protocol';
import { startTestHub, type TestHub } from '../../hub/test/helpers/hub.js';
import { eventually } from '../../hub/test/helpers/clients.js';
import { startFleet } from '../src/fleet.js';

async function finished(hub: TestHub, id: string): Promise<CommandView> {
  return eventually(async () => {
    const command = (await hub.api('GET', `/api/commands/${id}`)).body as CommandView;
    return ['queued', 'sent', 'acknowledged'].includes(command.state) ? null : command;
  }, 10_000, `command ${id} to end`);
}

for (const transport of ['mqtt', 'ws'] as const) {
  t.test(`${transport}: commands switch, set and dim; desired state is applied`, async (t) => {
    const hub = await startTestHub(t);
    const fleet = await startFleet({
      hubUrl: hub.httpUrl,
      mqttUrl: hub.mqttUrl,
      adminToken: hub.adminToken,
      devices: 3,
      kinds: ['smart-plug', 'thermostat', 'dimmable-light'],
      transport,
      intervalMs: 500,
      idPrefix: `${transport}-`,
      seed: 11,
    });
    t.teardown(() => fleet.stop());
    const [plug, thermostat, light] = fleet.devices as [string, string, string];
    // Commands are checked against what each device declared in hello.
    await eventually(async () => {
      const views = await Promise.all(fleet.devices.map(async (id) => (await hub.api('GET', `/api/devices/${id}`)).body as { capabilities: unknown }));
      return views.every((v) => v.capabilities !== null);
    }, 10_000, 'every device said hello');

    const send = async (deviceId: string, name: string, params: Record<string, unknown>) => {
      const res = await hub.api('POST', `/api/devices/${deviceId}/commands`, { name, params });
      t.equal(res.status, 202, `${name} accepted`);
      return finished(hub, (res.body as CommandView).id);
    };

    const on = await send(plug, 'turn_on', {});
    t.equal(on.state, 'succeeded');
    t.same(on.result, { on: true });
    t.equal(on.transitions[0]?.state, 'queued');
    t.ok(on.transitions.some((s) => s.state === 'sent'), 'it went through sent');
    t.equal(on.transitions.at(-1)?.state, 'succeeded');

    const target = await send(thermostat, 'set_target', { target: 23.5 });
    t.equal(target.state, 'succeeded');
    const dim = await send(light, 'set_brightness', { brightness: 30 });
    t.equal(dim.state, 'succeeded');

    // The device reports its new state after acting.
    await eventually(async () => {
      const s = (await hub.api('GET', `/api/devices/${thermostat}/state`)).body as DeviceStateView;
      return s.reported.target?.value === 23.5;
    }, 10_000, 'the thermostat reports its new target');

    // Refused before anything is sent: out of the declared range.
    const refused = await hub.api('POST', `/api/devices/${light}/commands`, { name: 'set_brightness', params: { brightness: 130 } });
    t.equal(refused.status, 422);
    t.match(refused.body, { error: 'invalid_params', message: /brightness.*at most 100/ });

    // Desired state: the light applies it and reports it with the version; desired keeps it [FP-4.3].
    const patched = await hub.api('PATCH', `/api/devices/${light}/state/desired`, { state: { brightness: 70 } });
    t.equal(patched.status, 200);
    const version = (patched.body as DeviceStateView).version;
    const settled = await eventually(async () => {
      const s = (await hub.api('GET', `/api/devices/${light}/state`)).body as DeviceStateView;
      return s.reported.brightness?.value === 70 && s.reportedVersion === version ? s : null;
    }, 10_000, 'the light applies the desired brightness');
    t.same(settled.delta, {}, 'nothing pending once the device reports the desired value');
    t.same(Object.keys(settled.desired), ['brightness'], 'desired keeps what the operator set');

    // The light declared its state keys: the hub refuses what it cannot take.
    const invalid = await hub.api('PATCH', `/api/devices/${light}/state/desired`, { state: { brightness: 0 } });
    t.match(invalid, { status: 422, body: { error: 'invalid_desired', message: /state key "brightness" must be from 1 to 100, got 0/ } });

    // A value the hub cannot check: the thermostat refuses it, and says why.
    const fine = await hub.api('PATCH', `/api/devices/${thermostat}/state/desired`, { state: { target: 20.25 } });
    t.equal(fine.status, 200);
    const refusedView = await eventually(async () => {
      const s = (await hub.api('GET', `/api/devices/${thermostat}/state`)).body as DeviceStateView;
      return s.refused.target ? s : null;
    }, 10_000, 'the thermostat refuses a target it cannot set');
    t.match(refusedView.refused.target, { reason: 'the thermostat sets tenths of a degree', value: 20.25 });
    t.same(refusedView.delta, { target: 20.25 });
  });
}
