/** A fleet against the real hub: provisioned, connected over both transports, its telemetry visible in the API. */
import t from 'tap';
import type { DeviceView } from '@iot-hub/protocol';
import { startTestHub } from '../../hub/test/helpers/hub.js';
import { eventually } from '../../hub/test/helpers/clients.js';
import { planFleet, startFleet } from '../src/fleet.js';
import { MODEL_KINDS, modelDefinition } from '../src/models/index.js';

t.test('planFleet is deterministic and alternates transports when mixed', async (t) => {
  const plan = planFleet({ devices: 12, transport: 'mixed', idPrefix: 'home-', seed: 7 });
  t.same(plan, planFleet({ devices: 12, transport: 'mixed', idPrefix: 'home-', seed: 7 }));
  t.same(plan.slice(0, 5).map((d) => [d.id, d.kind, d.name, d.transport]), [
    ['home-thermostat-01', 'thermostat', 'Living room thermostat', 'mqtt'],
    ['home-light-02', 'dimmable-light', 'Living room ceiling light', 'ws'],
    ['home-plug-03', 'smart-plug', 'Kitchen fridge plug', 'mqtt'],
    ['home-motion-04', 'motion-sensor', 'Hallway motion', 'ws'],
    ['home-contact-05', 'contact-sensor', 'Hallway front door', 'mqtt'],
  ]);
  t.equal(plan[4]?.variant, 'door');
  t.equal(plan[10]?.name, 'Living room 2 thermostat', 'a fleet larger than the home repeats it');
  t.equal(new Set(plan.map((d) => d.seed)).size, 12, 'each device has its own seed');
  t.not(plan[0]?.seed, planFleet({ devices: 1, transport: 'mqtt', idPrefix: 'home-', seed: 8 })[0]?.seed);
  t.ok(planFleet({ devices: 4, transport: 'ws' }).every((d) => d.transport === 'ws'));
});

t.test('the default home of 10 has every kind, in rooms; given kinds go round the rooms', async (t) => {
  const home = planFleet({ devices: 10, transport: 'mixed', idPrefix: 'home-', seed: 42 });
  t.same(new Set(home.map((d) => d.kind)), new Set(MODEL_KINDS), 'every model kind is in the demo home');
  t.ok(home.every((d) => d.room && d.name.startsWith(d.room)), 'every device is named after its room');
  const custom = planFleet({ devices: 3, transport: 'mqtt', kinds: ['smart-plug'] });
  t.same(custom.map((d) => d.name), ['Living room plug', 'Kitchen plug', 'Bedroom plug']);
});

t.test('3 MQTT + 3 WebSocket devices: telemetry shows up as latest values', async (t) => {
  const hub = await startTestHub(t);
  const fleet = await startFleet({
    hubUrl: hub.httpUrl,
    mqttUrl: hub.mqttUrl,
    adminToken: hub.adminToken,
    devices: 6,
    transport: 'mixed',
    intervalMs: 200,
    idPrefix: 'fleet-',
    seed: 3,
  });
  t.teardown(() => fleet.stop());
  t.equal(fleet.devices.length, 6);
  t.equal(fleet.credentials.length, 6);

  const views = await eventually(async () => {
    const all = await Promise.all(fleet.devices.map(async (id) => (await hub.api('GET', `/api/devices/${id}`)).body as DeviceView));
    return all.every((v) => Object.keys(v.latest).length > 0 && v.capabilities !== null) ? all : null;
  }, 10_000, 'latest values of every device');

  const plan = planFleet({ devices: 6, transport: 'mixed', idPrefix: 'fleet-', seed: 3 });
  t.same(views.map((v) => v.presence.transport), ['mqtt', 'ws', 'mqtt', 'ws', 'mqtt', 'ws']);
  for (const [i, view] of views.entries()) {
    const device = plan[i]!;
    t.equal(view.kind, device.kind, `${view.id} kind`);
    t.equal(view.name, device.name, `${view.id} name`);
    t.equal(view.presence.status, 'online', `${view.id} online`);
    t.same(Object.keys(view.latest).sort(), Object.keys(modelDefinition(device.kind).create({ seed: 1 }).hello().metrics).sort(), `${view.id} reports every declared metric`);
  }

  const stats = await eventually(() => {
    const s = fleet.stats();
    return s.acked >= 12 ? s : null;
  }, 10_000, 'a dozen acknowledged samples');
  t.equal(stats.failed, 0);

  await fleet.stop();
  const final = fleet.stats();
  t.equal(final.sent, final.acked + final.failed, 'every sample ended acknowledged or failed');
  const offline = await eventually(async () => {
    const all = await Promise.all(fleet.devices.map(async (id) => (await hub.api('GET', `/api/devices/${id}`)).body as DeviceView));
    return all.every((v) => v.presence.status === 'offline') ? all : null;
  }, 5000, 'every device offline after stop');
  t.equal(offline.length, 6);
});

t.test('a fleet started again takes its ids over: old devices are replaced (409 → delete → provision)', async (t) => {
  const hub = await startTestHub(t);
  const options = { hubUrl: hub.httpUrl, mqttUrl: hub.mqttUrl, adminToken: hub.adminToken, devices: 2, transport: 'mqtt' as const, intervalMs: 1000 };
  const first = await startFleet(options);
  await first.stop();
  const second = await startFleet(options);
  t.teardown(() => second.stop());
  t.same(second.devices, first.devices);
  t.notSame(second.credentials.map((c) => c.token), first.credentials.map((c) => c.token), 'new tokens');

  // Reusing credentials skips provisioning: no admin token needed.
  await second.stop();
  const third = await startFleet({ ...options, adminToken: undefined, credentials: second.credentials });
  t.teardown(() => third.stop());
  t.same(third.credentials, second.credentials);
});

t.test('fleet faults: every device commits them, the hub sees them, the fleet counts them', async (t) => {
  const hub = await startTestHub(t);
  const fleet = await startFleet({
    hubUrl: hub.httpUrl,
    mqttUrl: hub.mqttUrl,
    adminToken: hub.adminToken,
    devices: 2,
    transport: 'mixed',
    intervalMs: 100,
    idPrefix: 'faulty-',
    kinds: ['climate-sensor'],
    faults: { duplicateRate: 1 },
  });
  t.teardown(() => fleet.stop());
  const views = await eventually(async () => {
    const all = await Promise.all(fleet.devices.map(async (id) => (await hub.api('GET', `/api/devices/${id}`)).body as DeviceView));
    return all.every((v) => v.stats.duplicates >= 3) ? all : null;
  }, 10_000, 'duplicates from both devices');
  t.equal(views.length, 2);
  await fleet.stop();
  const stats = fleet.stats();
  t.ok(stats.faults.duplicates >= 6, `${stats.faults.duplicates} duplicates sent`);
  t.same({ ...stats.faults, duplicates: 0 }, { drops: 0, offlinePeriods: 0, duplicates: 0, reordered: 0, malformed: 0, oversize: 0, stalls: 0, flaps: 0 }, 'no other faults');
});
