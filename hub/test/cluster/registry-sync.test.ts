/**
 * Each node's Registry follows the registry the nodes share in PostgreSQL
 * (RegistrySync): two nodes, each with its own pool, Registry, EventBus and
 * telemetry store, over one database. What node A provisions, rotates,
 * revokes, re-declares or deletes reaches node B after a nudge or within
 * one interval, without a single event on B's bus; B's own writes are
 * never undone by a poll that read before them; and a device's seq windows
 * follow it from A to B (reloadWindows).
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { HelloMessage, HubMessage, TelemetryMessage } from '@iot-hub/protocol';
import { PgRegistryStore, type RegistryChanges } from '../../src/cluster/registry/pg-registry-store.js';
import { PgSeqWindowStore } from '../../src/cluster/registry/pg-seq-window-store.js';
import { NOW_MS } from '../../src/cluster/registry/registry-migrations.js';
import { RegistrySync, type CredentialChange } from '../../src/cluster/registry/registry-sync.js';
import { DeviceGateway } from '../../src/core/device-gateway.js';
import type { CloseReason, DeviceLink } from '../../src/core/device-link.js';
import { EventBus, type HubEventMap } from '../../src/events/event-bus.js';
import { Registry } from '../../src/registry/registry.js';
import { TelemetryPipeline } from '../../src/telemetry/pipeline.js';
import { SqliteTelemetryStore } from '../../src/telemetry/sqlite-telemetry-store.js';
import { eventually } from '../helpers/clients.js';
import { postgresForTest } from '../helpers/postgres.js';
import { migratedDatabase, type TestDatabase } from './pg-test-database.js';

const EVENT_KINDS: (keyof HubEventMap)[] = ['telemetry', 'presence', 'deviceAdded', 'deviceUpdated', 'deviceRemoved', 'command', 'state', 'message'];

/** One onChanged call, by id. */
interface Change {
  added: string[];
  updated: string[];
  removed: string[];
  credentials: CredentialChange[];
}

/** The real store, with a read that can be held after it has read (a slow network) and counted. */
class HeldStore {
  reads = 0;
  /** Report missedDeletions for a non-zero cursor, once: as a cursor older than the tombstones' retention would. */
  missNext = false;
  private gate: Promise<void> | null = null;
  private release: () => void = () => {};
  private onRead: (() => void) | null = null;
  constructor(private readonly inner: PgRegistryStore) {}
  /** Holds the next reads once they have read; resolves when the first has. */
  hold(): Promise<void> {
    this.gate = new Promise((r) => (this.release = r));
    return new Promise((r) => (this.onRead = r));
  }
  open(): void {
    this.gate = null;
    this.release();
  }
  async changedSince(cursor: number): Promise<RegistryChanges> {
    this.reads += 1;
    const changes = await this.inner.changedSince(cursor);
    if (this.missNext && cursor > 0) {
      this.missNext = false;
      changes.missedDeletions = true;
    }
    this.onRead?.();
    this.onRead = null;
    if (this.gate) await this.gate;
    return changes;
  }
}

class RecordingLink implements DeviceLink {
  readonly transport = 'ws' as const;
  sent: HubMessage[] = [];
  send(message: HubMessage): void {
    this.sent.push(message);
  }
  close(_reason: CloseReason): void {}
}

interface Node {
  registry: Registry;
  sync: RegistrySync;
  store: HeldStore;
  windows: PgSeqWindowStore;
  gateway: DeviceGateway;
  /** Every event on this node's bus, by kind. */
  events: string[];
  changes: Change[];
  /** The values of `metric` this node's telemetry store holds for the device. */
  stored(deviceId: string): Promise<number[]>;
}

async function startNode(t: Test, db: TestDatabase, options: { intervalMs?: number; chunkSize?: number; startSync?: boolean; onChanged?: () => void } = {}): Promise<Node> {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-node-'));
  const log = pino({ level: 'silent' });
  const pool = db.connect();
  const pgStore = new PgRegistryStore(pool);
  await pgStore.open();
  const windows = new PgSeqWindowStore(pool);
  await windows.open();
  const telemetry = new SqliteTelemetryStore({ file: join(dir, 'telemetry.db') });
  await telemetry.open();
  const bus = new EventBus();
  const events: string[] = [];
  for (const kind of EVENT_KINDS) bus.on(events, kind, () => events.push(kind));
  const registry = new Registry(pgStore, telemetry, bus, log, undefined, windows);
  await registry.start();
  const pipeline = new TelemetryPipeline(telemetry, log);
  const gateway = new DeviceGateway({ registry, pipeline, events: bus, commands: { deviceReady: () => {}, result: () => Promise.resolve() }, state: { deviceReady: () => {}, reported: () => Promise.resolve() }, log });
  const store = new HeldStore(pgStore);
  const changes: Change[] = [];
  const sync = new RegistrySync({
    store,
    registry,
    intervalMs: options.intervalMs ?? 60_000,
    ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}),
    log,
    onChanged: (added, updated, removed, credentials) => {
      changes.push({ added: added.map((e) => e.record.id), updated: updated.map((e) => e.record.id), removed, credentials });
      options.onChanged?.();
    },
  });
  if (options.startSync !== false) await sync.start();
  // The pools close first (registered earlier): a last persist or flush then fails, logged, as after a lost database.
  t.teardown(async () => {
    await sync.stop();
    await pipeline.stop();
    await registry.stop();
    await telemetry.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const stored = async (deviceId: string) =>
    (await telemetry.history({ deviceId, metrics: null, from: 0, to: Date.now() + 60_000, maxPoints: 1000 })).series[0]?.points.map((p) => p.avg) ?? [];
  return { registry, sync, store, windows, gateway, events, changes, stored };
}

const hello = (boot: number, metrics: HelloMessage['metrics'] = {}): HelloMessage => ({ v: 1, type: 'hello', kind: 'sensor', boot, metrics });
const reading = (seq: number, v: number): TelemetryMessage => ({ v: 1, type: 'telemetry', seq, metrics: { v } });

const pg = await postgresForTest(t);
if (pg) {
  t.test('provisioned, rotated, revoked, re-declared, relabelled and deleted on A: B follows after a nudge, its bus hears nothing', async (t) => {
    const db = await migratedDatabase(t, pg);
    const a = await startNode(t, db);
    const b = await startNode(t, db);

    const { entry, token } = await a.registry.provision({ id: 'd1', kind: 'sensor', name: 'One' });
    t.equal(b.registry.authenticate('d1', token), null, 'not on B before a poll');
    b.sync.nudge();
    const onB = await eventually(() => b.registry.authenticate('d1', token), 5_000, 'B to take the new device');
    t.match(b.registry.view(onB), { id: 'd1', name: 'One', kind: 'sensor', presence: { status: 'offline', reason: 'never-connected' } });
    t.same(b.changes, [{ added: ['d1'], updated: [], removed: [], credentials: [] }]);

    const { token: rotated } = await a.registry.rotateToken('d1');
    b.sync.nudge();
    await eventually(() => b.registry.authenticate('d1', rotated), 5_000, 'B to take the new token');
    t.equal(b.registry.authenticate('d1', token), null, 'the old token is refused on B');
    t.same(b.changes.at(-1), { added: [], updated: ['d1'], removed: [], credentials: [{ id: 'd1', change: 'rotated' }] });

    await a.registry.revokeToken('d1');
    b.sync.nudge();
    await eventually(() => b.registry.authenticate('d1', rotated) === null, 5_000, 'B to refuse the revoked token');
    t.same(b.changes.at(-1), { added: [], updated: ['d1'], removed: [], credentials: [{ id: 'd1', change: 'revoked' }] });

    await a.registry.setCapabilities(entry, hello(3, { temp: { type: 'number', unit: 'C' } }));
    b.sync.nudge();
    await eventually(() => b.registry.get('d1')?.record.capabilities?.metrics.temp, 5_000, 'B to take the capabilities');
    t.same(b.registry.view(onB).capabilities, entry.record.capabilities);
    t.same(b.changes.at(-1), { added: [], updated: ['d1'], removed: [], credentials: [] });

    await a.registry.update('d1', { name: 'Renamed', room: 'Cellar', labels: ['z', 'a'] });
    b.sync.nudge();
    await eventually(() => b.registry.scopeOf('d1')?.room === 'Cellar', 5_000, 'B to take the room and labels');
    t.match(b.registry.view(onB), { name: 'Renamed', room: 'Cellar', labels: ['a', 'z'] });
    t.match(b.registry.scopeOf('d1'), { kind: 'sensor', room: 'Cellar', labels: ['a', 'z'] }, 'the rule engine\'s scope on B');
    t.same(b.changes.at(-1), { added: [], updated: ['d1'], removed: [], credentials: [] });

    await a.registry.remove('d1');
    b.sync.nudge();
    await eventually(() => b.registry.get('d1') === undefined, 5_000, 'B to drop the device');
    t.same(b.changes.at(-1), { added: [], updated: [], removed: ['d1'], credentials: [] });
    t.equal(b.changes.length, 6, 'each change reported once, though every poll reads the last seconds again');
    t.same(b.events, [], 'nothing on B\'s bus');
  });

  t.test('without a nudge, B takes a change within one interval', async (t) => {
    const db = await migratedDatabase(t, pg);
    const a = await startNode(t, db);
    const b = await startNode(t, db, { intervalMs: 300 });
    const { token } = await a.registry.provision({ id: 'quiet', kind: 'sensor' });
    const since = Date.now();
    await eventually(() => b.registry.authenticate('quiet', token), 5_000, 'B to poll');
    const took = Date.now() - since;
    t.ok(took <= 300 + 700, `within the interval and one read (${took} ms)`);
    t.same(b.events, []);
  });

  t.test('presence and latest values mirrored on B show in its view, silently', async (t) => {
    const db = await migratedDatabase(t, pg);
    const a = await startNode(t, db);
    const b = await startNode(t, db);
    await a.registry.provision({ id: 'd', kind: 'sensor' });
    await b.sync.poll();
    const online = { status: 'online' as const, since: 1_000, reason: 'connected' as const, transport: 'mqtt' as const };
    t.equal(b.registry.mirrorPresence('d', online, 1_500), true);
    t.equal(b.registry.mirrorLatest('d', 1_400, { temp: 20.5, on: true }), true);
    t.match(b.registry.view(b.registry.get('d')!), { presence: online, lastSeen: 1_500, latest: { temp: { value: 20.5, ts: 1_400 }, on: { value: true, ts: 1_400 } } });
    await b.sync.poll();
    t.match(b.registry.view(b.registry.get('d')!), { presence: online, latest: { temp: { value: 20.5 } } }, 'a poll keeps them');
    t.same(b.events, []);
  });

  t.test('a device deleted and provisioned again on A between two polls is replaced on B', async (t) => {
    const db = await migratedDatabase(t, pg);
    const a = await startNode(t, db);
    const b = await startNode(t, db);
    const first = await a.registry.provision({ id: 'again', kind: 'sensor' });
    await b.sync.poll();
    const old = b.registry.get('again');
    await a.registry.remove('again');
    // A later createdAt: the clock may not have moved since the first provisioning.
    const second = await a.registry.provision({ id: 'again', kind: 'actuator' }, Date.now() + 1);
    await b.sync.poll();
    const now = b.registry.get('again');
    t.not(now, old, 'a new entry: sessions of the old device see it gone');
    t.equal(now?.record.kind, 'actuator');
    t.equal(b.registry.authenticate('again', first.token), null);
    t.equal(b.registry.authenticate('again', second.token), now);
    t.same(b.changes.at(-1), { added: ['again'], updated: [], removed: ['again'], credentials: [] }, 'removed and added in one call');
    t.same(b.events, []);
  });

  t.test("B's own revoke and delete are not undone by a poll that read before them", async (t) => {
    const db = await migratedDatabase(t, pg);
    const a = await startNode(t, db);
    const b = await startNode(t, db);
    const revoked = await a.registry.provision({ id: 'revoked-on-b', kind: 'sensor' });
    await a.registry.provision({ id: 'deleted-on-b', kind: 'sensor' });
    await b.sync.poll();
    b.events.length = 0;

    const read = b.store.hold();
    const stale = b.sync.poll();
    await read;
    await b.registry.revokeToken('revoked-on-b');
    await b.registry.remove('deleted-on-b');
    b.store.open();
    await stale;
    t.equal(b.registry.authenticate('revoked-on-b', revoked.token), null, 'still revoked');
    t.equal(b.registry.get('deleted-on-b'), undefined, 'still deleted');
    await b.sync.poll();
    t.equal(b.registry.authenticate('revoked-on-b', revoked.token), null, 'and after the next poll, which reads them');
    t.equal(b.registry.get('deleted-on-b'), undefined);
    t.same(b.changes.slice(1), [], 'nothing reported for B\'s own writes');
    t.same(b.events, ['deviceRemoved'], 'only B\'s own delete on its bus');
  });

  t.test('a full pass drops what was deleted while no delta could tell: at start, and after missed deletions', async (t) => {
    const db = await migratedDatabase(t, pg);
    const admin = db.connect();
    const a = await startNode(t, db);
    for (const id of ['x', 'y', 'z']) await a.registry.provision({ id, kind: 'sensor' });
    const b = await startNode(t, db, { startSync: false });
    t.same([...b.registry.all()].map((e) => e.record.id).sort(), ['x', 'y', 'z'], 'loaded');
    await a.registry.remove('x');
    // Pruned, as after the retention: no delta names x any more.
    await admin.query('DELETE FROM device_tombstones');
    await b.sync.start();
    t.same([...b.registry.all()].map((e) => e.record.id).sort(), ['y', 'z'], 'the first pass drops x');
    t.same(b.changes, [{ added: [], updated: [], removed: ['x'], credentials: [] }]);

    await a.registry.remove('z');
    await admin.query('DELETE FROM device_tombstones');
    b.store.missNext = true;
    await b.sync.poll();
    t.same([...b.registry.all()].map((e) => e.record.id), ['y'], 'missed deletions: everything read again, z dropped');
    t.same(b.changes.at(-1), { added: [], updated: [], removed: ['z'], credentials: [] });
    t.same(b.events, []);
  });

  t.test('many changes are applied in chunks, one event-loop turn each', async (t) => {
    const db = await migratedDatabase(t, pg);
    const admin = db.connect();
    let turns = 0;
    let ticking = true;
    const tick = (): void => {
      turns += 1;
      if (ticking) setImmediate(tick);
    };
    const turnsAtChange: number[] = [];
    const b = await startNode(t, db, { chunkSize: 1_000, onChanged: () => turnsAtChange.push(turns) });
    await admin.query(
      `INSERT INTO devices (id, kind, name, token_hash, token_issued_at, created_at, updated_at)
       SELECT 'bulk-' || lpad(i::text, 4, '0'), 'sensor', to_json('bulk'::text), repeat('a', 64), 1, 1, ${NOW_MS} FROM generate_series(1, 2500) i`,
    );
    setImmediate(tick);
    await b.sync.poll();
    ticking = false;
    t.same(b.changes.map((c) => c.added.length), [1_000, 1_000, 500]);
    t.equal(b.registry.size, 2_500);
    t.ok(turnsAtChange[1]! > turnsAtChange[0]! && turnsAtChange[2]! > turnsAtChange[1]!, `the loop turned between chunks (${turnsAtChange.join(', ')})`);
  });

  t.test('nudges while a poll runs are coalesced into one more poll', async (t) => {
    const db = await migratedDatabase(t, pg);
    const b = await startNode(t, db);
    const before = b.store.reads;
    const read = b.store.hold();
    const first = b.sync.poll();
    await read;
    for (let i = 0; i < 20; i++) b.sync.nudge();
    const last = b.sync.poll();
    b.store.open();
    await first;
    await last;
    t.equal(b.store.reads - before, 2, 'the running poll and one more');
  });

  t.test('a device that moves from A to B: B reloads its seq windows, a resent seq is a duplicate there', async (t) => {
    const db = await migratedDatabase(t, pg);
    const a = await startNode(t, db);
    const b = await startNode(t, db);
    const { entry } = await a.registry.provision({ id: 'mover', kind: 'sensor' });
    await b.sync.poll();

    const onA = a.gateway.open(entry, new RecordingLink());
    await onA.handle(hello(1));
    t.same((await b.windows.loadDevice('mover')).current, 'n:1', 'the boot is in PostgreSQL once the hello is answered');
    for (const seq of [1, 2, 3]) await onA.handle(reading(seq, seq * 10));
    // A loses the device; its last persist (stop, or the next tick) saves the committed seqs.
    await a.registry.stop();

    const entryB = b.registry.get('mover')!;
    t.equal(entryB.boots.current, null, 'B held nothing of it');
    await b.registry.reloadWindows('mover');
    t.equal(entryB.boots.current, 'n:1', 'the boot of its last hello, from A');
    const onB = b.gateway.open(entryB, new RecordingLink());
    await onB.handle(reading(3, 30));
    await onB.handle(reading(4, 40));
    t.equal(entryB.stats.duplicates, 1, 'seq 3 resent to B is a duplicate');
    t.same(await b.stored('mover'), [40], 'only seq 4 stored on B');

    await onB.handle(hello(2));
    t.same((await b.windows.loadDevice('mover')).current, 'n:2', "B's hello saved its boot before it was answered");
  });
}
