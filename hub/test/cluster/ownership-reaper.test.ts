/**
 * The reaper on a real PostgreSQL with several nodes in one process: the
 * devices of a node whose lease stopped renewing go `offline / node-lost`
 * within TTL + one reap interval (measured) and not before the lease
 * expired, a device that reconnected elsewhere is left alone, an earlier
 * boot's devices are lost at once, and a PostgreSQL crash and restart marks
 * no device offline within TTL of the restart although every lease lapsed.
 * A reaper marks nothing until it has seen the server answer for TTL, so
 * each test uses reapers that have (settled).
 */
import t, { type Test as Tap } from 'tap';
import pino from 'pino';
import { Reaper, type LostDevice } from '../../src/cluster/ownership/reaper.js';
import { REAPER_LOCK } from '../../src/cluster/ownership/schema.js';
import { postgresForTest } from '../helpers/postgres.js';
import type { PgForTest } from '../helpers/postgres.js';
import { sleep, startNode } from '../helpers/cluster-nodes.js';

const TTL = 2_000;
const log = pino({ level: 'silent' });
// One server for the file (a start costs seconds on a loaded machine); each test has its own node and device ids.
const pg = await postgresForTest(t);
/** What the shared reaper marked, with when (onLost is fixed at construction). */
const lostLog: (LostDevice & { at: number })[] = [];
let shared: Promise<Reaper> | null = null;
/** One reaper settled once for the tests that need no other: as a node's that has been up a while. */
function sharedReaper(t: Tap, pg: PgForTest): Promise<Reaper> {
  shared ??= settledReapers(t, pg, 1, (devices) => lostLog.push(...devices.map((d) => ({ ...d, at: performance.now() })))).then((r) => r[0]!);
  return shared;
}

/** Reapers on their own pools that have seen this server answer for TTL, as those of nodes up for a while. */
async function settledReapers(t: Tap, pg: PgForTest, n: number, onLost?: (devices: LostDevice[]) => void): Promise<Reaper[]> {
  const reapers = Array.from({ length: n }, () => new Reaper(pg.connect(), { ttlMs: TTL, log, ...(onLost ? { onLost } : {}) }));
  for (const r of reapers) t.same(await r.reapOnce(), [], 'a reaper new to the server marks nothing');
  await sleep(TTL);
  return reapers;
}

/** The devices of these nodes among those marked, sorted. */
function ofNodes(lost: readonly LostDevice[], nodes: readonly string[]): string[] {
  return lost.filter((d) => nodes.includes(d.nodeId)).map((d) => d.deviceId).sort();
}

async function until(what: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!what() && Date.now() < deadline) await sleep(20);
}

t.test('a node that stops renewing has its devices marked node-lost within TTL + reap interval', async (t) => {
  if (!pg) return;
  const a = await startNode(t, pg, 'a', { ttlMs: TTL });
  const b = await startNode(t, pg, 'b', { ttlMs: TTL });
  await a.store.claimMany(['a1', 'a2', 'a3', 'a4', 'a5', 'moved'].map((deviceId) => ({ deviceId })));
  const moved = await b.store.claim('moved');
  await b.store.claim('b1');

  const reaper = await sharedReaper(t, pg);
  const lost = lostLog;
  reaper.start();
  t.teardown(() => reaper.stop());
  const stoppedAt = performance.now();
  await a.lease.stop();
  await until(() => lost.length >= 5, 3 * TTL);
  await reaper.stop();

  t.same(ofNodes(lost, ['a', 'b']), ['a1', 'a2', 'a3', 'a4', 'a5'], "exactly the lost node's devices");
  const took = Math.max(...lost.map((d) => d.at)) - stoppedAt;
  t.comment(`marked node-lost ${Math.round(took)} ms after the last renewal stopped (TTL ${TTL}, reap every ${reaper.intervalMs})`);
  t.ok(took <= TTL + reaper.intervalMs + 250, `within TTL + reap interval (${Math.round(took)} ms)`);
  // The last renewal was sent at most one renewal interval before the stop: its lease ran TTL from then.
  t.ok(took >= TTL - a.lease.renewIntervalMs - 50, `not before the lease expired (${Math.round(took)} ms)`);
  t.match(await b.store.owner('a1'), { nodeId: 'a', online: false, reason: 'node-lost' });
  t.match(await b.store.owner('moved'), { nodeId: 'b', epoch: moved.epoch, online: true, reason: 'connected' }, 'the device that reconnected elsewhere is not touched');
  t.match(await b.store.owner('b1'), { online: true });
  t.same(await reaper.reapOnce(), [], 'nothing left to mark');
});

t.test("a node starting again under its id takes over its lease: the earlier boot's devices are lost at once", async (t) => {
  if (!pg) return;
  const reaper = await sharedReaper(t, pg);
  let fenced = 0;
  const old = await startNode(t, pg, 'n', { ttlMs: TTL, onFenced: () => (fenced += 1) });
  await old.store.claimMany([{ deviceId: 'n1' }, { deviceId: 'n2' }]);
  const fresh = await startNode(t, pg, 'n', { ttlMs: TTL });
  t.not(fresh.lease.bootId, old.lease.bootId);
  const back = await fresh.store.claim('n2');
  t.same(back.previousOwner?.nodeId, 'n', 'the previous owner is the same node id, an earlier boot');

  const lost = (await reaper.reapOnce()) ?? [];
  t.same(ofNodes(lost, ['n']), ['n1'], 'marked without waiting for a TTL');
  t.match(await fresh.store.owner('n2'), { bootId: fresh.lease.bootId, online: true });

  await until(() => old.lease.state !== 'healthy', 2 * old.lease.renewIntervalMs + 500);
  t.equal(old.lease.state, 'superseded', 'the earlier boot, still running, learns at its next renewal');
  t.equal(fenced, 1, 'and fences itself once');
  await t.rejects(old.store.claim('n3'), { name: 'NodeNotLeasedError' }, 'it takes no device');
});

t.test('a clean stop ends the lease at once', async (t) => {
  if (!pg) return;
  const reaper = await sharedReaper(t, pg);
  const e = await startNode(t, pg, 'e', { ttlMs: TTL });
  await e.store.claim('e1');
  t.same(ofNodes((await reaper.reapOnce()) ?? [], ['e']), [], 'nothing while the lease lives');
  await e.lease.stop({ expire: true });
  t.same(ofNodes((await reaper.reapOnce()) ?? [], ['e']), ['e1']);
});

t.test('one reaper pass at a time across nodes', async (t) => {
  if (!pg) return;
  const x = await startNode(t, pg, 'x', { ttlMs: TTL });
  await x.store.claimMany(Array.from({ length: 50 }, (_, i) => ({ deviceId: `x${i}` })));
  const reapers = await settledReapers(t, pg, 4);
  await x.lease.stop({ expire: true });
  const results = await Promise.all(reapers.map((r) => r.reapOnce()));
  const marked = results.flatMap((r) => ofNodes(r ?? [], ['x']));
  t.equal(marked.length, 50, 'each device marked once');
  t.equal(new Set(marked).size, 50);
  let during: LostDevice[] | null | undefined;
  await pg.connect().withAdvisoryLock(REAPER_LOCK, false, async () => {
    during = await reapers[0]!.reapOnce();
  });
  t.equal(during, null, 'a pass while another node holds the lock does nothing');
});

t.test('PostgreSQL killed and restarted: no device marked offline within TTL of its start although leases lapsed', async (t) => {
  if (!pg) return;
  const events: string[] = [];
  const live = await Promise.all(
    ['p', 'q'].map((id) => startNode(t, pg, id, { ttlMs: TTL, onFenced: () => events.push(`${id} fenced`), onRejoined: () => events.push(`${id} rejoined`) })),
  );
  const dead = await startNode(t, pg, 'd', { ttlMs: TTL });
  await live[0]!.store.claimMany([{ deviceId: 'p1' }, { deviceId: 'p2' }]);
  await live[1]!.store.claim('q1');
  await dead.store.claimMany([{ deviceId: 'd1' }, { deviceId: 'd2' }]);
  const reaper = await sharedReaper(t, pg);
  await dead.lease.stop();

  await pg.server.kill();
  await sleep(TTL + 500);
  await pg.server.restart();
  const restartedAt = performance.now();

  const marked: string[] = [];
  let passes = 0;
  // Passes through the guarded window: the dead node's lease had lapsed before the restart, so only the guard holds them back.
  while (performance.now() < restartedAt + TTL - 300) {
    const lost = await reaper.reapOnce().catch(() => null);
    if (lost) {
      passes += 1;
      marked.push(...ofNodes(lost, ['p', 'q', 'd']));
    }
    await sleep(100);
  }
  t.ok(passes >= 3, `the reaper ran within TTL of the restart (${passes} passes)`);
  t.same(marked, [], 'and marked nothing');

  let lost: string[] = [];
  const deadline = Date.now() + 2 * TTL;
  while (lost.length === 0 && Date.now() < deadline) {
    lost = ofNodes((await reaper.reapOnce().catch(() => null)) ?? [], ['p', 'q', 'd']);
    if (lost.length === 0) await sleep(100);
  }
  t.same(lost, ['d1', 'd2'], 'after it, only the dead node');
  for (const id of ['p1', 'p2', 'q1']) t.match(await live[0]!.store.owner(id), { online: true, reason: 'connected' }, `${id} stayed online`);
  t.same(events.sort(), ['p fenced', 'p rejoined', 'q fenced', 'q rejoined'], 'the live nodes fenced during the outage and rejoined');
});
