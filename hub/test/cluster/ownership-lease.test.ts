/**
 * The node lease on a real PostgreSQL: a node fences itself when its lease
 * can't be renewed for TTL/2 (the server paused: a hung database) and
 * rejoins once a renewal works again; the lease's expiry follows the
 * database's clock.
 */
import t from 'tap';
import pino from 'pino';
import { NodeLease } from '../../src/cluster/ownership/node-lease.js';
import { postgresForTest } from '../helpers/postgres.js';
import { sleep, startNode } from '../helpers/cluster-nodes.js';

const TTL = 2_000;
const pg = await postgresForTest(t);

t.test('a paused PostgreSQL fences the node within TTL/2 + one renewal; resumed, it rejoins', async (t) => {
  if (!pg) return;
  const events: { what: string; at: number }[] = [];
  const node = await startNode(t, pg, 'f', {
    ttlMs: TTL,
    onFenced: () => events.push({ what: 'fenced', at: performance.now() }),
    onRejoined: () => events.push({ what: 'rejoined', at: performance.now() }),
  });
  await sleep(TTL);
  t.equal(node.lease.state, 'healthy');
  t.same(events, [], 'renewals kept it healthy');

  const pausedAt = performance.now();
  pg.server.pause(true);
  t.teardown(() => pg.server.pause(false));
  await until(() => events.length > 0, 2 * TTL);
  // Paused past the fence, not past TTL: the lease stays ours in the database.
  await sleep(TTL / 4);
  const resumedAt = performance.now();
  pg.server.pause(false);
  await until(() => events.length > 1, 2 * TTL);

  t.same(
    events.map((e) => e.what),
    ['fenced', 'rejoined'],
  );
  const fencedAfter = events[0]!.at - pausedAt;
  const rejoinedAfter = events[1]!.at - resumedAt;
  t.comment(`fenced ${Math.round(fencedAfter)} ms after the pause, rejoined ${Math.round(rejoinedAfter)} ms after the resume (TTL ${TTL})`);
  t.ok(fencedAfter <= TTL / 2 + node.lease.renewIntervalMs + 150, `fenced within TTL/2 + one renewal (${Math.round(fencedAfter)} ms)`);
  // The last renewal that worked was sent at most one renewal interval before the pause.
  t.ok(fencedAfter >= TTL / 2 - node.lease.renewIntervalMs - 50, `not before TTL/2 after the last renewal (${Math.round(fencedAfter)} ms)`);
  t.ok(rejoinedAfter <= 2 * node.lease.renewIntervalMs + 300, `rejoined within two renewals (${Math.round(rejoinedAfter)} ms)`);
  t.equal(node.lease.state, 'healthy');
  const row = await node.db.query<{ left: number }>("SELECT extract(epoch FROM expires_at - now()) * 1000 AS left FROM cluster_nodes WHERE node_id = 'f'");
  const left = Number(row.rows[0]!.left);
  t.ok(left > TTL - node.lease.renewIntervalMs - 200 && left <= TTL, `the lease runs TTL from the database's now() (${Math.round(left)} ms left)`);
  t.same((await node.store.claim('f1')).previousOwner, null, 'a rejoined node takes devices again');
});

t.test('the lease checks its arguments and starts once', async (t) => {
  if (!pg) return;
  const db = pg.connect();
  t.throws(() => new NodeLease(db, { nodeId: 'z', ttlMs: 50, log: pino({ level: 'silent' }) }), new RangeError('lease TTL must be at least 100 ms, got 50'));
  const node = await startNode(t, pg, 'z', { ttlMs: TTL });
  await t.rejects(node.lease.start(), new Error('the lease of z was already started'));
  await node.lease.stop();
  t.equal(node.lease.state, 'stopped');
});

async function until(what: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!what() && Date.now() < deadline) await sleep(10);
}
