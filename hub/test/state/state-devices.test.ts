/**
 * Desired and reported state with real devices over MQTT and the WebSocket
 * [FP-4.3]: desired is sent on every connect and on every change, a report
 * of the same value empties the delta (desired stays), offline changes
 * arrive on reconnect, and dashboards subscribed to `state` see every change.
 * Drift and refusals: shadow-semantics.test.ts.
 */
import t, { type Test } from 'tap';
import type { DeviceStateView } from '@iot-hub/protocol';
import type { MqttClient } from 'mqtt';
import { collectMessages, connectMqtt, dashboardSocket, deviceSocket, eventually, type JsonSocket } from '../helpers/clients.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

async function patch(hub: TestHub, id: string, body: unknown): Promise<DeviceStateView> {
  const res = await hub.api('PATCH', `/api/devices/${id}/state/desired`, body);
  if (res.status !== 200) throw new Error(`PATCH desired of ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as DeviceStateView;
}

async function stateOf(hub: TestHub, id: string): Promise<DeviceStateView> {
  return (await hub.api('GET', `/api/devices/${id}/state`)).body as DeviceStateView;
}

/** One device, either transport: what it received on `desired`, and how it reports. */
interface Device {
  desired(): Record<string, unknown>[];
  report(state: Record<string, unknown>, version?: number): Promise<void>;
  close(): Promise<void>;
}

async function mqttDevice(t: Test, hub: TestHub, id: string, token: string): Promise<Device & { client: MqttClient }> {
  const client = await connectMqtt(t, hub, id, token);
  const messages = collectMessages(client);
  await client.subscribeAsync(`devices/${id}/#`, { qos: 1 });
  return {
    client,
    desired: () => messages.filter((m) => m.topic === `devices/${id}/desired`).map((m) => m.payload),
    report: async (state, version) => {
      // The PUBACK comes once the report is stored.
      await client.publishAsync(`devices/${id}/state`, JSON.stringify({ state, ...(version === undefined ? {} : { version }) }), { qos: 1 });
    },
    close: () => client.endAsync(),
  };
}

let mid = 0;
async function wsDevice(t: Test, hub: TestHub, id: string, token: string): Promise<Device & { socket: JsonSocket }> {
  const socket = await deviceSocket(t, hub, id, token);
  await socket.next((f) => f.type === 'welcome');
  return {
    socket,
    desired: () => socket.frames.filter((f) => f.type === 'desired'),
    report: async (state, version) => {
      const m = `s${++mid}`;
      socket.send({ v: 1, type: 'state', mid: m, state, ...(version === undefined ? {} : { version }) });
      // The ack comes once the report is stored.
      await socket.next((f) => f.type === 'ack' && f.mid === m);
    },
    close: async () => {
      socket.ws.close(1000);
      await socket.closed;
    },
  };
}

const transports = { mqtt: mqttDevice, ws: wsDevice } as const;

for (const [transport, connect] of Object.entries(transports)) {
  t.test(`${transport}: desired on connect and on change; a report of the desired values empties the delta`, async (t) => {
    const hub = await startTestHub(t);
    const { id, token } = await hub.provision(`${transport}-therm`, 'thermostat');
    const device = await connect(t, hub, id, token);
    await eventually(() => device.desired().length === 1, 3000, 'desired on connect');
    t.same(device.desired()[0], { v: 1, type: 'desired', state: {}, version: 0, delta: {} }, 'sent on connect even with nothing desired');

    const view = await patch(hub, id, { state: { mode: 'heat', target: 21.5 } });
    t.equal(view.version, 1);
    await eventually(() => device.desired().length === 2, 3000, 'desired after the change');
    t.same(device.desired()[1], { v: 1, type: 'desired', state: { mode: 'heat', target: 21.5 }, version: 1, delta: { mode: 'heat', target: 21.5 } });

    await device.report({ mode: 'heat', target: 21.5, window: 'closed' }, 1);
    const after = await stateOf(hub, id);
    t.same(Object.fromEntries(Object.entries(after.desired).map(([k, e]) => [k, e.value])), { mode: 'heat', target: 21.5 }, 'desired keeps what the operator set');
    t.same(after.delta, {}, 'in sync');
    t.equal(after.reportedVersion, 1);
    t.equal(after.version, 1, 'reports never change the desired version');
    t.same(Object.fromEntries(Object.entries(after.reported).map(([k, e]) => [k, e.value])), { mode: 'heat', target: 21.5, window: 'closed' });

    // A partial apply: the other key stays in the delta, and the device is told once more.
    await patch(hub, id, { state: { mode: 'cool', target: 19 } });
    await device.report({ mode: 'cool', target: 20 }, 2);
    const partial = await stateOf(hub, id);
    t.same(partial.delta, { target: 19 });
    t.same(Object.keys(partial.desired), ['mode', 'target']);
    await eventually(() => device.desired().length === 4, 3000, 'desired after the drifting report');
    t.same(device.desired()[3], { v: 1, type: 'desired', state: { mode: 'cool', target: 19 }, version: 2, delta: { target: 19 } });

    // null removes a reported key; a report without version keeps reportedVersion.
    await device.report({ window: null });
    const removed = await stateOf(hub, id);
    t.notOk('window' in removed.reported, 'null removed the reported key');
    t.equal(removed.reportedVersion, 2);
    t.equal(device.desired().length, 4, 'a report that changes no desired key sends nothing back');
  });

  t.test(`${transport}: a desired change made while offline arrives on reconnect and is applied`, async (t) => {
    const hub = await startTestHub(t);
    const { id, token } = await hub.provision(`${transport}-plug`, 'plug');
    const first = await connect(t, hub, id, token);
    await first.report({ on: false });
    await first.close();

    await patch(hub, id, { state: { on: true } });
    t.same((await stateOf(hub, id)).delta, { on: true }, 'pending while offline');

    const again = await connect(t, hub, id, token);
    await eventually(() => again.desired().length === 1, 3000, 'desired on reconnect');
    t.same(again.desired()[0], { v: 1, type: 'desired', state: { on: true }, version: 1, delta: { on: true } });
    await again.report({ on: true }, 1);
    const applied = await stateOf(hub, id);
    t.same([applied.desired.on?.value, applied.delta, applied.reportedVersion, applied.reported.on?.value], [true, {}, 1, true], 'applied: nothing pending');
  });
}

t.test('mqtt: desired is sent once the device subscribes, not into a connection that would drop it', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('late-sub');
  const client = await connectMqtt(t, hub, id, token);
  const messages = collectMessages(client);
  await patch(hub, id, { state: { level: 3 } });
  await client.subscribeAsync(`devices/${id}/desired`, { qos: 1 });
  await eventually(() => messages.length === 1, 3000, 'desired after SUBACK');
  t.same(messages[0], { topic: `devices/${id}/desired`, payload: { v: 1, type: 'desired', state: { level: 3 }, version: 1, delta: { level: 3 } } });
  await client.subscribeAsync(`devices/${id}/errors`, { qos: 0 });
  await new Promise((r) => setTimeout(r, 100));
  t.equal(messages.length, 1, 'a subscription without desired sends nothing more');
});

t.test('a dashboard subscribed to state events sees desired changes and reports', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('watched');
  const other = await hub.provision('unwatched');
  const dash = await dashboardSocket(t, hub);
  dash.send({ id: 1, op: 'subscribe', devices: [id], events: ['state'] });
  await dash.next((f) => f.id === 1);

  await patch(hub, id, { state: { brightness: 80 } });
  const changed = await dash.next((f) => f.event === 'state');
  t.same(changed.state, await stateOf(hub, id));

  const device = await mqttDevice(t, hub, id, token);
  await device.report({ brightness: 80 }, 1);
  const reported = await dash.next((f) => f.event === 'state' && (f.state as DeviceStateView).reportedVersion === 1);
  t.same(reported.state, await stateOf(hub, id));
  t.same([(reported.state as DeviceStateView).delta, (reported.state as DeviceStateView).reported.brightness?.value], [{}, 80], 'the event carries the view in sync');

  await patch(hub, other.id, { state: { x: 1 } });
  await patch(hub, id, { state: { brightness: 80 } });
  await new Promise((r) => setTimeout(r, 100));
  // brightness 80 is still desired after the device reached it: the last patch changes nothing.
  t.same(dash.frames.filter((f) => 'event' in f).map((f) => f.event), ['state', 'state'], 'no other kinds, devices or unchanged patches');
});

t.test('a report that would grow the reported document past 64 keys is refused with a specific error', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('greedy');
  const device = await wsDevice(t, hub, id, token);
  const keys = (from: number, n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${from + i}`, i]));
  await device.report(keys(0, 64));
  device.socket.send({ v: 1, type: 'state', mid: 'over', state: keys(64, 1) });
  t.match(await device.socket.next((f) => f.type === 'error' && f.ref === 'over'), {
    error: 'invalid_message',
    code: 400,
    message: /the reported state would have 65 keys; at most 64 \(remove keys with null\)/,
  });
  t.equal(Object.keys((await stateOf(hub, id)).reported).length, 64, 'nothing applied');
  await device.report({ ...keys(64, 1), k0: null });
  t.ok('k64' in (await stateOf(hub, id)).reported, 'replacing a key in one report fits');
});
