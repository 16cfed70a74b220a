/**
 * Device ownership on a real PostgreSQL with several nodes (pools + leases)
 * in one process: claims take increasing epochs and name the owner they
 * replace, stale releases do nothing, a node without a live lease takes no
 * device, and 1,000 randomized claims and releases from three nodes at
 * once leave exactly the last claimer owning each device.
 */
import t from 'tap';
import { NodeNotLeasedError, type Claim } from '../../src/cluster/ownership/ownership-store.js';
import { postgresForTest } from '../helpers/postgres.js';
import { seeded, startNode, type TestNode } from '../helpers/cluster-nodes.js';

const TTL = 2_000;
// One server for the file (a start costs seconds on a loaded machine); each test has its own node and device ids.
const pg = await postgresForTest(t);

t.test('a takeover returns the previous owner with a lower epoch; a stale release does nothing', async (t) => {
  if (!pg) return;
  const a = await startNode(t, pg, 'node-a', { ttlMs: TTL });
  const b = await startNode(t, pg, 'node-b', { ttlMs: TTL });

  const first = await a.store.claim('d1', 1_000, 'mqtt');
  t.equal(first.previousOwner, null, 'the first claim ever has no previous owner');
  const second = await b.store.claim('d1', 2_000, 'ws');
  t.ok(second.epoch > first.epoch, 'the takeover has a higher epoch');
  t.same(second.previousOwner, { nodeId: 'node-a', epoch: first.epoch, online: true });

  t.equal(await a.store.release('d1', first.epoch, 'connection-lost', 3_000), false, 'the old node cannot mark it offline');
  t.same(await a.store.owner('d1'), {
    deviceId: 'd1',
    nodeId: 'node-b',
    bootId: b.lease.bootId,
    epoch: second.epoch,
    online: true,
    reason: 'connected',
    since: 2_000,
    transport: 'ws',
  });

  t.equal(await b.store.release('d1', second.epoch, 'disconnected', 4_000), true);
  t.equal(await b.store.release('d1', second.epoch, 'disconnected', 5_000), false, 'released once');
  t.match(await a.store.owner('d1'), { nodeId: 'node-b', online: false, reason: 'disconnected', since: 4_000 });

  const third = await a.store.claim('d1', 6_000);
  t.same(third.previousOwner, { nodeId: 'node-b', epoch: second.epoch, online: false }, 'a released owner is named, offline: no session to kick');
  t.equal(await a.store.owner('never'), null);
  t.same([...(await b.store.ownersOf(['d1', 'never']))].map(([id, row]) => [id, row.nodeId, row.epoch]), [['d1', 'node-a', third.epoch]]);
  t.same([...(await a.store.owned())], [['d1', third.epoch]]);
  t.same([...(await b.store.owned())], []);

  await a.store.forget('d1');
  t.equal(await a.store.owner('d1'), null);
  t.equal((await b.store.claim('d1')).previousOwner, null, 'a device created again starts with no previous owner');
});

t.test('a node without a live lease takes no device', async (t) => {
  if (!pg) return;
  const idle = await startNode(t, pg, 'l-idle', { ttlMs: TTL, start: false });
  await t.rejects(idle.store.claim('l1'), NodeNotLeasedError);
  await t.rejects(idle.store.claimMany([{ deviceId: 'l1' }, { deviceId: 'l2' }]), NodeNotLeasedError);

  const a = await startNode(t, pg, 'l-a', { ttlMs: TTL });
  await a.store.claim('l1');
  await a.lease.stop({ expire: true });
  await t.rejects(a.store.claim('l2'), { name: 'NodeNotLeasedError', message: 'node l-a has no live lease: it takes no device' });
  t.equal(await a.store.owner('l2'), null, 'nothing was written');
  t.equal((await a.store.owner('l1'))?.online, true, 'what it held is left to the reaper');
});

t.test('claimMany takes a burst of devices in one statement', async (t) => {
  if (!pg) return;
  const a = await startNode(t, pg, 'm-a', { ttlMs: TTL });
  const b = await startNode(t, pg, 'm-b', { ttlMs: TTL });
  const before = await b.store.claim('m2');
  const claims = await a.store.claimMany(
    [
      { deviceId: 'm3', transport: 'ws' },
      { deviceId: 'm1', transport: 'mqtt' },
      { deviceId: 'm2', transport: 'mqtt' },
    ],
    7_000,
  );
  t.same([...claims.keys()].sort(), ['m1', 'm2', 'm3']);
  t.equal(claims.get('m1')!.previousOwner, null);
  t.same(claims.get('m2')!.previousOwner, { nodeId: 'm-b', epoch: before.epoch, online: true });
  t.equal(new Set([...claims.values()].map((c) => c.epoch)).size, 3, 'each device its own epoch');
  t.same((await a.store.all()).filter((r) => r.nodeId === 'm-a').map((r) => [r.deviceId, r.nodeId, r.transport, r.since]).sort(), [
    ['m1', 'm-a', 'mqtt', 7_000],
    ['m2', 'm-a', 'mqtt', 7_000],
    ['m3', 'm-a', 'ws', 7_000],
  ]);
  await t.rejects(a.store.claimMany([{ deviceId: 'mx' }, { deviceId: 'mx' }]), new TypeError('claimMany needs distinct device ids'));
  t.same(await a.store.claimMany([]), new Map());
});

t.test('releaseOwned marks offline what the node holds but no live session of it', async (t) => {
  if (!pg) return;
  const a = await startNode(t, pg, 'r-a', { ttlMs: TTL });
  const b = await startNode(t, pg, 'r-b', { ttlMs: TTL });
  const claims = await a.store.claimMany(['r1', 'r2', 'r3'].map((deviceId) => ({ deviceId })));
  await b.store.claim('r4');
  const marked = await a.store.releaseOwned('connection-lost', [claims.get('r2')!.epoch], 9_000);
  t.same(marked.map((m) => m.deviceId).sort(), ['r1', 'r3']);
  t.same([...(await a.store.owned()).keys()], ['r2']);
  t.match(await a.store.owner('r1'), { online: false, reason: 'connection-lost', since: 9_000 });
  t.equal((await b.store.owner('r4'))?.online, true, "another node's device is not touched");
});

/**
 * Three nodes with their sessions modelled as the hub keeps them: a claim
 * opens a session and kicks the previous owner if it was another node; a
 * kick closes the session only if its epoch is lower, and is remembered
 * when it arrives before the claim it overtakes has answered.
 */
class ModelNode {
  readonly sessions = new Map<string, number>();
  private readonly kickedAt = new Map<string, number>();
  readonly busy = new Set<string>();
  constructor(readonly node: TestNode) {}

  opened(deviceId: string, claim: Claim): void {
    if ((this.kickedAt.get(deviceId) ?? 0) > claim.epoch) return;
    const current = this.sessions.get(deviceId);
    if (current === undefined || current < claim.epoch) this.sessions.set(deviceId, claim.epoch);
  }

  kick(deviceId: string, epoch: number): void {
    this.kickedAt.set(deviceId, Math.max(epoch, this.kickedAt.get(deviceId) ?? 0));
    const current = this.sessions.get(deviceId);
    if (current !== undefined && current < epoch) this.sessions.delete(deviceId);
  }
}

t.test('1,000 randomized claims and releases from three nodes at once: the last claimer owns each device', async (t) => {
  if (!pg) return;
  const nodes = await Promise.all(['n1', 'n2', 'n3'].map(async (id) => new ModelNode(await startNode(t, pg, id, { ttlMs: 10_000 }))));
  const byId = new Map(nodes.map((n) => [n.node.id, n]));
  const devices = Array.from({ length: 25 }, (_, i) => `dev-${i}`);
  const random = seeded(20_260_420);
  const claims: { deviceId: string; nodeId: string; claim: Claim }[] = [];
  const releases: { deviceId: string; epoch: number; released: boolean }[] = [];

  const op = async (n: ModelNode, deviceId: string): Promise<void> => {
    const held = n.sessions.get(deviceId);
    if (held !== undefined && random() < 0.4) {
      n.sessions.delete(deviceId);
      releases.push({ deviceId, epoch: held, released: await n.node.store.release(deviceId, held, 'disconnected') });
      return;
    }
    const claim = await n.node.store.claim(deviceId);
    claims.push({ deviceId, nodeId: n.node.id, claim });
    n.opened(deviceId, claim);
    const prev = claim.previousOwner;
    if (prev && prev.nodeId !== n.node.id) byId.get(prev.nodeId)!.kick(deviceId, claim.epoch);
  };
  // Up to 8 operations in flight per node, never two on one device from one node (a gateway serializes those).
  let remaining = 1_000;
  await Promise.all(
    nodes.flatMap((n) =>
      Array.from({ length: 8 }, async () => {
        while (remaining > 0) {
          const deviceId = devices[Math.floor(random() * devices.length)]!;
          if (n.busy.has(deviceId)) {
            await new Promise((r) => setImmediate(r));
            continue;
          }
          remaining -= 1;
          n.busy.add(deviceId);
          try {
            await op(n, deviceId);
          } finally {
            n.busy.delete(deviceId);
          }
        }
      }),
    ),
  );
  t.ok(claims.length > 400 && releases.length > 100, `both kinds ran (${claims.length} claims, ${releases.length} releases)`);

  const rows = new Map((await nodes[0]!.node.store.all()).map((r) => [r.deviceId, r]));
  for (const deviceId of devices) {
    const chain = claims.filter((c) => c.deviceId === deviceId).sort((x, y) => x.claim.epoch - y.claim.epoch);
    // The claims of a device form one chain: each names the one just before it as its previous owner.
    const brokenLinks = chain.filter((c, i) => (i === 0 ? c.claim.previousOwner !== null : c.claim.previousOwner?.epoch !== chain[i - 1]!.claim.epoch));
    t.same(brokenLinks, [], `${deviceId}: every claim names the claim just before it`);
    const last = chain.at(-1)!;
    const row = rows.get(deviceId)!;
    t.same([row.nodeId, row.epoch], [last.nodeId, last.claim.epoch], `${deviceId}: the row is the last claimer's`);
    const lastReleased = releases.some((r) => r.deviceId === deviceId && r.epoch === last.claim.epoch && r.released);
    t.equal(row.online, !lastReleased, `${deviceId}: online unless its last claim was released`);
    const holders = nodes.filter((n) => n.sessions.has(deviceId)).map((n) => [n.node.id, n.sessions.get(deviceId)]);
    t.same(holders, row.online ? [[row.nodeId, row.epoch]] : [], `${deviceId}: exactly the owner holds a session while online, nobody while offline`);
    const staleReleases = releases.filter((r) => r.deviceId === deviceId && r.released && chain.findIndex((c) => c.claim.epoch === r.epoch) === -1);
    t.same(staleReleases, [], `${deviceId}: only a claimed epoch was ever released`);
  }
  const successfulPerEpoch = new Map<number, number>();
  for (const r of releases) if (r.released) successfulPerEpoch.set(r.epoch, (successfulPerEpoch.get(r.epoch) ?? 0) + 1);
  t.equal([...successfulPerEpoch.values()].filter((n) => n > 1).length, 0, 'no epoch released twice');
});
