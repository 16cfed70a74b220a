/**
 * The Registry's cluster mirror on SQLite: records, removals, presence and
 * latest values another node changed are taken silently (no event on this
 * node's bus, no store write), presence can come from outside at start, and
 * a hello's boot is saved before it is acknowledged, again after a failure.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Capabilities, PresenceInfo } from '@iot-hub/protocol';
import { generateToken, hashToken } from '../../src/auth/tokens.js';
import { EventBus, type HubEventMap } from '../../src/events/event-bus.js';
import { LocalWrites } from '../../src/registry/local-writes.js';
import { MetricNameLimit } from '../../src/registry/metric-names.js';
import { Registry } from '../../src/registry/registry.js';
import type { DeviceRecord } from '../../src/registry/registry-store.js';
import { SqliteRegistryStore } from '../../src/registry/sqlite-registry-store.js';
import { SqliteSeqWindowStore } from '../../src/registry/sqlite-seq-window-store.js';
import { SqliteTelemetryStore } from '../../src/telemetry/sqlite-telemetry-store.js';
import { device } from './registry-store-contract.js';

const EVENT_KINDS: (keyof HubEventMap)[] = ['telemetry', 'presence', 'deviceAdded', 'deviceUpdated', 'deviceRemoved', 'command', 'state', 'message'];

interface Setup {
  registry: Registry;
  store: SqliteRegistryStore;
  windows: SqliteSeqWindowStore;
  /** Every event the registry emitted, by kind. */
  events: string[];
  /** A registry on the same files, as after a restart. */
  reopen(options?: Parameters<Registry['start']>[0]): Promise<Registry>;
}

async function setup(t: Test, options: { maxMetrics?: number; seed?: DeviceRecord[] } = {}): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-mirror-'));
  const log = pino({ level: 'silent' });
  const telemetry = new SqliteTelemetryStore({ file: join(dir, 'telemetry.db') });
  await telemetry.open();
  const closers: (() => Promise<void>)[] = [];
  const events: string[] = [];
  const open = async (startOptions?: Parameters<Registry['start']>[0]) => {
    const store = new SqliteRegistryStore(join(dir, 'registry.db'));
    await store.open();
    for (const record of options.seed ?? []) await store.insert(record);
    const windows = new SqliteSeqWindowStore(join(dir, 'registry.db'));
    await windows.open();
    const bus = new EventBus();
    for (const kind of EVENT_KINDS) bus.on(events, kind, () => events.push(kind));
    const registry = new Registry(store, telemetry, bus, log, new MetricNameLimit(options.maxMetrics ?? 256), windows);
    await registry.start(startOptions);
    closers.push(async () => {
      await registry.stop();
      await windows.close();
      await store.close();
    });
    return { registry, store, windows };
  };
  t.teardown(async () => {
    for (const close of closers.reverse()) await close();
    await telemetry.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const first = await open();
  return { ...first, events, reopen: async (o) => (await open(o)).registry };
}

const T0 = Date.UTC(2026, 5, 1);

t.test('mirrorRecord adds a device another node provisioned: its token authenticates, nothing is emitted or written', async (t) => {
  const { registry, store, events } = await setup(t);
  const token = generateToken();
  const outcome = registry.mirrorRecord(device('remote', { tokenHash: hashToken(token), name: 'Remote one' }));
  t.equal(outcome.change, 'added');
  t.equal(outcome.credentials, null);
  t.equal(registry.authenticate('remote', token), outcome.entry);
  t.equal(registry.authenticate('remote', generateToken()), null);
  t.match(registry.view(outcome.entry), { id: 'remote', name: 'Remote one', kind: 'sensor', presence: { status: 'offline', reason: 'never-connected', since: T0 }, lastSeen: null, latest: {} });
  t.same(await store.loadAll(), [], 'the store is the other node\'s to write');
  t.same(events, []);
});

t.test('mirrorRecord of a held device takes identity, credentials and capabilities, keeps presence, latest and stats', async (t) => {
  const { registry, events } = await setup(t);
  const first = generateToken();
  const { entry } = registry.mirrorRecord(device('d', { tokenHash: hashToken(first) }));
  registry.mirrorPresence('d', { status: 'online', since: T0 + 5, reason: 'connected', transport: 'ws' }, T0 + 5);
  registry.mirrorLatest('d', T0 + 6, { temp: 21.5 });
  entry.stats.messages = 7;

  t.same(registry.mirrorRecord(device('d', { tokenHash: hashToken(first) })), { change: 'unchanged', entry, credentials: null }, 'the same record again');
  const capabilities: Capabilities = { kind: 'sensor', metrics: { hum: { type: 'number' } }, commands: {}, heartbeatSec: 30 };
  const renamed = registry.mirrorRecord(device('d', { tokenHash: hashToken(first), name: 'renamed', capabilities, lastSeen: T0 + 1 }));
  t.same([renamed.change, renamed.credentials], ['updated', null]);
  t.equal(renamed.entry, entry, 'the same entry: sessions of it go on');
  t.same([...entry.metricNames].sort(), ['hum', 'temp'], 'the declared names join those with readings');

  const second = generateToken();
  const rotated = registry.mirrorRecord(device('d', { tokenHash: hashToken(second), tokenIssuedAt: T0 + 10, name: 'renamed', capabilities }));
  t.same([rotated.change, rotated.credentials], ['updated', 'rotated']);
  t.equal(registry.authenticate('d', first), null, 'the old token is refused');
  t.equal(registry.authenticate('d', second), entry, 'the new one accepted');

  const revoked = registry.mirrorRecord(device('d', { tokenHash: hashToken(second), tokenIssuedAt: T0 + 10, tokenRevokedAt: T0 + 11, name: 'renamed', capabilities }));
  t.same([revoked.change, revoked.credentials], ['updated', 'revoked']);
  t.equal(registry.authenticate('d', second), null, 'a revoked token is refused');

  const view = registry.view(entry);
  t.same(
    [view.name, view.capabilities, view.presence, view.lastSeen, view.latest, view.stats.messages],
    ['renamed', capabilities, { status: 'online', since: T0 + 5, reason: 'connected', transport: 'ws' }, T0 + 5, { temp: { value: 21.5, ts: T0 + 6 } }, 7],
  );
  t.same(events, []);
});

t.test('mirrorRecord takes a room and labels changed on another node, silently; the same ones again are unchanged', async (t) => {
  const { registry, events } = await setup(t);
  const { entry } = registry.mirrorRecord(device('d'));
  const labelled = registry.mirrorRecord(device('d', { room: 'Hall', labels: ['a', 'b'] }));
  t.same([labelled.change, labelled.entry === entry], ['updated', true]);
  t.same(registry.scopeOf('d'), { ...device('d'), room: 'Hall', labels: ['a', 'b'] });
  t.same(registry.mirrorRecord(device('d', { room: 'Hall', labels: ['a', 'b'] })).change, 'unchanged', 'equal labels in a new array are no change');
  t.same(registry.mirrorRecord(device('d', { room: 'Hall', labels: ['a'] })).change, 'updated', 'a label removed');
  t.same(registry.mirrorRecord(device('d', { room: null, labels: ['a'] })).change, 'updated', 'the room cleared');
  t.same([registry.view(entry).room, registry.view(entry).labels], [null, ['a']]);
  t.same(events, []);
});

t.test('mirrorRecord of another device of the same id (deleted and provisioned again elsewhere) replaces the entry', async (t) => {
  const { registry, events } = await setup(t);
  const { entry: old } = registry.mirrorRecord(device('d'));
  registry.mirrorLatest('d', T0, { v: 1 });
  const again = registry.mirrorRecord(device('d', { createdAt: T0 + 1_000, tokenHash: 'b'.repeat(64) }));
  t.equal(again.change, 'replaced');
  t.not(again.entry, old, 'a new entry: sessions of the old one see their device gone');
  t.equal(registry.get('d'), again.entry);
  t.same(registry.view(again.entry).latest, {}, 'nothing of the old device');
  t.same(events, []);
});

t.test('mirrorRemoved drops a device silently; false for one not held', async (t) => {
  const { registry, events } = await setup(t);
  const { token } = await registry.provision({ id: 'local', kind: 'sensor' });
  events.length = 0;
  t.equal(registry.mirrorRemoved('local'), true);
  t.equal(registry.get('local'), undefined);
  t.equal(registry.authenticate('local', token), null);
  t.equal(registry.mirrorRemoved('local'), false);
  t.equal(registry.size, 0);
  t.same(events, []);
});

t.test('mirrorPresence sets presence and last seen (never back), and ends the wait of the restart rule', async (t) => {
  const seen = device('seen', { lastSeen: T0, lastTransport: 'mqtt' });
  const { registry, events } = await setup(t, { seed: [seen] });
  const entry = registry.get('seen');
  t.match(entry?.presence, { status: 'unknown', reason: 'hub-restart' }, 'as loaded');
  const online: PresenceInfo = { status: 'online', since: T0 + 50, reason: 'connected', transport: 'ws' };
  t.equal(registry.mirrorPresence('seen', online, T0 + 60), true);
  t.equal(registry.mirrorPresence('seen', online, T0 + 55), true);
  t.same([entry?.presence, entry?.lastSeen], [online, T0 + 60], 'a later presence event with an older time does not move it back');
  registry.expireUnknown(Date.now() + 24 * 3_600_000);
  t.same(entry?.presence, online, 'not turned offline by the restart rule');
  t.equal(registry.mirrorPresence('nobody', online, T0), false);
  t.same(events, []);
});

t.test('mirrorPresence drops presence of an older ownership epoch: a released session\'s offline that crossed the next claim\'s online on the bus', async (t) => {
  const { registry, events } = await setup(t, { seed: [device('moved')] });
  const entry = registry.get('moved')!;
  const online: PresenceInfo = { status: 'online', since: T0 + 20, reason: 'connected', transport: 'mqtt' };
  const offline: PresenceInfo = { status: 'offline', since: T0 + 10, reason: 'connection-lost', transport: 'mqtt' };
  t.equal(registry.mirrorPresence('moved', online, T0 + 20, 8), true, 'the new claim (epoch 8) first');
  t.equal(registry.mirrorPresence('moved', offline, T0 + 10, 7), 'stale', 'then the old session\'s release (epoch 7): dropped');
  t.same(entry.presence, online, 'still online');
  t.equal(registry.mirrorPresence('moved', { ...offline, since: T0 + 30 }, T0 + 30, 8), true, 'the same epoch\'s offline applies');
  t.equal(entry.presence.status, 'offline');
  // A local change records its epoch too: a remote event older than it is dropped.
  registry.setPresence(entry, 'online', 'connected', 'mqtt', T0 + 40, 12);
  t.equal(registry.mirrorPresence('moved', offline, T0 + 10, 11), 'stale');
  t.equal(entry.presence.status, 'online');
  t.equal(registry.mirrorPresence('moved', offline, T0 + 50), true, 'an event without an epoch applies, as before');
  t.equal(entry.presence.status, 'offline');
  t.same(events, ['presence'], 'only the local change is an event');
});

t.test('mirrorLatest keeps the newest value of each metric, within the metric-name limit', async (t) => {
  const { registry, events } = await setup(t, { maxMetrics: 2 });
  const { entry } = registry.mirrorRecord(device('d'));
  t.equal(registry.mirrorLatest('d', T0 + 10, { a: 1, b: true }), true);
  registry.mirrorLatest('d', T0 + 5, { a: 0 });
  registry.mirrorLatest('d', T0 + 20, { c: 3, b: false });
  t.same(registry.view(entry).latest, { a: { value: 1, ts: T0 + 10 }, b: { value: false, ts: T0 + 20 } }, 'an older reading does not replace a newer; a third name is left out');
  t.same([...entry.metricNames], ['a', 'b']);
  t.equal(registry.mirrorLatest('nobody', T0, { a: 1 }), false);
  t.same(events, []);
});

t.test('mirrorStoredLatest takes stored values only where newer, declared booleans as booleans, within the metric-name limit', async (t) => {
  const { registry, events } = await setup(t, { maxMetrics: 3 });
  const capabilities: Capabilities = { kind: 'sensor', metrics: { on: { type: 'boolean' } }, commands: {}, heartbeatSec: 30 };
  const { entry } = registry.mirrorRecord(device('d', { capabilities }));
  registry.mirrorLatest('d', T0 + 10, { temp: 22 });
  const stored = { temp: { value: 21, ts: T0 + 5 }, on: { value: 1, ts: T0 + 5 }, hum: { value: 40, ts: T0 + 5 }, extra: { value: 1, ts: T0 + 5 } };
  t.equal(registry.mirrorStoredLatest('d', stored), true, 'something changed');
  t.same(registry.view(entry).latest, { temp: { value: 22, ts: T0 + 10 }, on: { value: true, ts: T0 + 5 }, hum: { value: 40, ts: T0 + 5 } }, 'the bus reading stays; a fourth name is left out');
  t.equal(registry.mirrorStoredLatest('d', stored), false, 'the same values again change nothing');
  t.equal(registry.mirrorStoredLatest('nobody', stored), false);
  t.same(events, []);
});

t.test('start takes presence from outside where it has the device, and the restart rule elsewhere', async (t) => {
  const seed = [device('owned', { lastSeen: T0 }), device('unowned', { lastSeen: T0 }), device('new')];
  const { reopen } = await setup(t, { seed });
  const online: PresenceInfo = { status: 'online', since: T0 + 1, reason: 'connected', transport: 'mqtt' };
  const registry = await reopen({ presence: new Map([['owned', online]]), now: T0 + 100 });
  t.same(registry.get('owned')?.presence, online);
  t.same(registry.get('unowned')?.presence, { status: 'unknown', since: T0 + 100, reason: 'hub-restart', transport: null });
  t.same(registry.get('new')?.presence, { status: 'offline', since: T0, reason: 'never-connected', transport: null });
});

t.test('a hello whose boot could not be saved is refused, and the same hello again saves it', async (t) => {
  const { registry, windows } = await setup(t);
  const { entry } = await registry.provision({ id: 'd', kind: 'sensor' });
  await windows.close();
  await t.rejects(registry.setBoot(entry, 7), { error: 'storage_unavailable', message: 'could not record the boot: send hello again' });
  await windows.open();
  await registry.setBoot(entry, 7);
  t.same([...windows.loadAll().current], [['d', 'n:7']], 'saved by the second hello, though it names the same boot');
  await registry.setBoot(entry, 7);
  t.same([...windows.loadAll().current], [['d', 'n:7']]);
});

t.test('reloadWindows needs a store the nodes share', async (t) => {
  const { registry } = await setup(t);
  await registry.provision({ id: 'd', kind: 'sensor' });
  await t.rejects(registry.reloadWindows('d'), { message: "reloading one device's seq windows needs a store shared by the nodes (PgSeqWindowStore)" });
});

t.test('LocalWrites: a device written after a mark, or in flight, is reported; records are bounded by the marks', async (t) => {
  const writes = new LocalWrites();
  await writes.around('before-any-mark', async () => {});
  t.equal(writes.size, 0, 'nothing recorded while no poller asks');
  const mark = writes.mark();
  let release = (): void => {};
  const held = writes.around('slow', () => new Promise<void>((r) => (release = r)));
  t.equal(writes.since('slow', mark), true, 'in flight');
  await writes.around('done', async () => {});
  t.same([writes.since('done', mark), writes.since('other', mark)], [true, false]);
  release();
  await held;
  const next = writes.mark();
  t.same([writes.since('done', next), writes.since('slow', next)], [false, false], 'completed before the next mark');
  t.equal(writes.size, 2, 'kept until the mark after');
  writes.mark();
  t.equal(writes.size, 0);
  await t.rejects(writes.around('fails', () => Promise.reject(new Error('disk full'))), { message: 'disk full' });
  t.equal(writes.since('fails', next), true, 'a failed write counts too: memory may have changed');
});
