import t from 'tap';
import type { DeviceView } from '@iot-hub/protocol';
import { deviceAlerts, facets, matchesFilter, NO_FILTER, RateMeter, roomOf, SparkBuffers, sparkMetric, sparkPath, SPARK_SLOTS, SPARK_SLOT_MS } from '../src/data/overview.js';

const device = (id: string, name: string, kind = 'thermostat', extra: Partial<DeviceView> = {}): DeviceView => ({
  id,
  kind,
  name,
  room: null,
  labels: [],
  createdAt: 0,
  presence: { status: 'online', since: 0, reason: 'connected' } as DeviceView['presence'],
  lastSeen: null,
  latest: {},
  capabilities: null,
  stats: { messages: 0, duplicates: 0, seqGaps: 0, seqResets: 0, errors: 0 },
  ...extra,
});

t.test('rooms come from names: through "room", else the first word', async (t) => {
  t.equal(roomOf(device('a', 'Living room thermostat')), 'Living room');
  t.equal(roomOf(device('a', 'Living room 2 thermostat')), 'Living room');
  t.equal(roomOf(device('a', 'Kitchen fridge plug')), 'Kitchen');
  t.equal(roomOf(device('a', 'kids room light')), 'Kids room');
  t.equal(roomOf(device('a', 'a')), null, 'named by its id');
  t.equal(roomOf(device('a', 'Lamp')), null, 'one word is a name, not a room');
});

t.test('rooms: a room the operator set wins over the name; facets and the filter use it', async (t) => {
  const set = device('a', 'Kitchen fridge plug', 'plug', { room: 'Cellar' });
  t.equal(roomOf(set), 'Cellar');
  t.equal(roomOf(device('b', 'Lamp', 'light', { room: 'Attic' })), 'Attic', 'also where the name gives none');
  const fleet = [set, device('b', 'Kitchen lamp', 'light'), device('c', 'Lamp', 'light', { room: 'Attic' })];
  t.same(facets(fleet).rooms, ['Attic', 'Cellar', 'Kitchen']);
  t.same(fleet.filter((d) => matchesFilter(d, { ...NO_FILTER, room: 'Cellar' })).map((d) => d.id), ['a']);
  t.same(fleet.filter((d) => matchesFilter(d, { ...NO_FILTER, room: 'Kitchen' })).map((d) => d.id), ['b'], 'the name no longer puts a into Kitchen');
});

t.test('alerts: protocol errors and missing readings', async (t) => {
  t.same(deviceAlerts(device('a', 'x')), []);
  t.same(deviceAlerts(device('a', 'x', 'k', { stats: { messages: 9, duplicates: 1, seqGaps: 2, seqResets: 0, errors: 1 } })), ['1 protocol error', '2 missing readings']);
});

t.test('filters combine; facets list kinds and rooms', async (t) => {
  const fleet = [
    device('t1', 'Kitchen thermostat'),
    device('p1', 'Kitchen fridge plug', 'smart-plug', { presence: { status: 'offline', since: 0, reason: 'disconnected' } as DeviceView['presence'] }),
    device('p2', 'Living room plug', 'smart-plug', { stats: { messages: 1, duplicates: 0, seqGaps: 0, seqResets: 0, errors: 3 } }),
  ];
  const ids = (filter: Partial<typeof NO_FILTER>) => fleet.filter((d) => matchesFilter(d, { ...NO_FILTER, ...filter })).map((d) => d.id);
  t.same(ids({}), ['t1', 'p1', 'p2']);
  t.same(ids({ kind: 'smart-plug' }), ['p1', 'p2']);
  t.same(ids({ room: 'Kitchen' }), ['t1', 'p1']);
  t.same(ids({ room: 'Kitchen', kind: 'smart-plug' }), ['p1']);
  t.same(ids({ presence: 'online' }), ['t1', 'p2']);
  t.same(ids({ alertsOnly: true }), ['p2']);
  t.same(ids({ query: 'FRIDGE' }), ['p1']);
  t.same(facets(fleet), { kinds: ['smart-plug', 'thermostat'], rooms: ['Kitchen', 'Living room'] });
});

t.test('the rate meter counts completed seconds of its window', async (t) => {
  const meter = new RateMeter(10_000);
  const base = 1_000_000;
  for (let s = 0; s < 10; s++) meter.mark(base + s * 1000, 5);
  meter.mark(base + 10_000, 100);
  t.equal(meter.rate(base + 10_500), 5, 'the current second is left out');
  t.equal(meter.rate(base + 30_000), 0, 'old seconds fall out');
});

t.test('sparklines: one point per slot, bounded, history under live', async (t) => {
  const buffers = new SparkBuffers();
  const now = 10_000_000;
  for (let i = 0; i < 500; i++) buffers.add('d', 'temp', now - (500 - i) * 1000, i);
  const points = buffers.points('d', now);
  t.ok(points.length <= SPARK_SLOTS, `bounded (${points.length})`);
  t.equal(points.at(-1)?.[1], 499, 'the last value of the newest slot');
  buffers.addHistory('d', 'temp', { deviceId: 'd', from: 0, to: now, bucketMs: SPARK_SLOT_MS, series: [{ metric: 'temp', points: [{ ts: now - 1000, avg: -1, min: -1, max: -1, count: 1 }] }] });
  t.equal(buffers.points('d', now).at(-1)?.[1], 499, 'live values win over history');
  t.equal(sparkMetric(device('d', 'x', 'k', { latest: { on: { value: true, ts: 1 }, temp: { value: 20, ts: 1 } } })), 'temp');
  t.equal(sparkPath([], now, 100, 20), '');
  t.equal(sparkPath([[now - 300_000, 1], [now, 3]], now, 100, 20), '0.0,18.5 100.0,1.5');
  t.equal(sparkPath([[now - 10_000, 1], [now - 5_000, 1]], now, 100, 20), '0.0,10.0 50.0,10.0', 'young data spans from its first point; flat sits mid-height');
});
