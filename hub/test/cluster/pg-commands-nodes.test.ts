/**
 * Three hub nodes' command services on one real PostgreSQL, each on its own
 * pool, EventBus and device connections: racing operations on different
 * nodes have exactly-once outcomes, counted over every node's events.
 */
import t, { type Test } from 'tap';
import pino from 'pino';
import type { CommandState } from '@iot-hub/protocol';
import { PgCommandService, type PgCommandServiceOptions } from '../../src/cluster/commands/pg-command-service.js';
import { migrate } from '../../src/cluster/pg/migrations.js';
import type { PgDatabase } from '../../src/cluster/pg/pg-database.js';
import { EventBus } from '../../src/events/event-bus.js';
import { CommandEvents, Links, TestDevices, refused, resultMessage } from '../commands/command-fixtures.js';
import { eventually } from '../helpers/clients.js';
import { postgresForTest } from '../helpers/postgres.js';

interface Node {
  service: PgCommandService;
  links: Links;
  seen: CommandEvents;
}

type NodeOptions = Partial<Pick<PgCommandServiceOptions, 'notifyOwner' | 'sweepIntervalMs' | 'reconcileIntervalMs' | 'maxPendingPerDevice'>>;

const devices = new TestDevices().add('d1').add('d2').add('d3').add('d4');

/** Slow background loops unless a test asks: what it checks is then done by the calls it makes. */
const QUIET = { sweepIntervalMs: 60_000, reconcileIntervalMs: 60_000 };

async function node(t: Test, db: PgDatabase, options: NodeOptions = {}): Promise<Node> {
  const events = new EventBus();
  const links = new Links();
  const seen = new CommandEvents(events);
  const service = new PgCommandService({
    db,
    registry: devices,
    events,
    linkOf: links.linkOf,
    defaultTimeoutMs: 30_000,
    defaultExpiryMs: 3_600_000,
    maxPendingPerDevice: 10,
    log: pino({ level: 'silent' }),
    ...QUIET,
    ...options,
  });
  await service.open();
  t.teardown(() => service.close());
  return { service, links, seen };
}

/** Every node's announcements of one command's states, in any order. */
function announced(nodes: readonly Node[], id: string): CommandState[] {
  return nodes.flatMap((n) => n.seen.states(id)).sort();
}

const pg = await postgresForTest(t);
if (pg) {
  const pools = [pg.connect(), pg.connect(), pg.connect()] as const;
  await migrate(pools[0]);
  const fresh = (): Promise<unknown> => pools[0].query('TRUNCATE commands');
  const three = (t: Test, options: NodeOptions | ((i: number) => NodeOptions) = {}): Promise<Node[]> =>
    Promise.all(pools.map((db, i) => node(t, db, typeof options === 'function' ? options(i) : options)));

  t.test('the same idempotency key posted to three nodes at once makes one command', async (t) => {
    await fresh();
    const nodes = await three(t);
    for (let round = 0; round < 10; round += 1) {
      const answers = await Promise.all(nodes.map((n) => n.service.create('d1', { name: 'boost', params: { minutes: 30 } }, { actor: 'alice', idempotencyKey: `key-${round}` })));
      t.equal(answers.filter((a) => a.created).length, 1, `round ${round}: one node created it`);
      t.equal(new Set(answers.map((a) => a.command.id)).size, 1, `round ${round}: all three answer the same command`);
    }
    const rows = await pools[1].query<{ n: string }>('SELECT count(*) AS n FROM commands');
    t.equal(rows.rows[0]?.n, '10');
    const ids = (await nodes[2]!.service.list('d1', { limit: 20 })).commands.map((c) => c.id);
    for (const id of ids) t.same(announced(nodes, id), ['queued'], 'announced once across nodes');
    await refused(t, nodes[1]!.service.create('d1', { name: 'identify' }, { actor: 'bob', idempotencyKey: 'key-0' }), 'idempotency_conflict');
  });

  t.test('the pending cap holds when creates race on three nodes', async (t) => {
    await fresh();
    const nodes = await three(t, { maxPendingPerDevice: 3 });
    const attempts = nodes.flatMap((n) => Array.from({ length: 4 }, () => n.service.create('d2', { name: 'identify' }, { actor: 'alice' })));
    const settled = await Promise.allSettled(attempts);
    t.equal(settled.filter((s) => s.status === 'fulfilled').length, 3, 'exactly the cap was created');
    const codes = settled.flatMap((s) => (s.status === 'rejected' ? [(s.reason as { error?: string }).error] : []));
    t.same(codes, Array.from({ length: 9 }, () => 'queue_full'));
    t.same((await nodes[0]!.service.countByState()).queued, 3);
  });

  t.test('a command posted to node 2 for a device held by node 1 is delivered and ends succeeded once', async (t) => {
    await fresh();
    // Node 2's notification reaches node 1 as the bus would: node 1 delivers what is queued.
    const nodes: Node[] = [];
    nodes.push(...(await three(t, (i) => (i === 1 ? { notifyOwner: (id) => void nodes[0]?.service.deliverQueued(id) } : {}))));
    const owner = nodes[0]!;
    const link = owner.links.connect('d1');
    owner.service.deviceReady('d1', link);
    const { command } = await nodes[1]!.service.create('d1', { name: 'boost', params: { minutes: 15 } }, { actor: 'alice' });
    t.equal(command.state, 'queued', 'node 2 does not hold the device');
    await eventually(() => link.commands.length === 1, 5_000, 'delivered on node 1');
    t.equal(link.commands[0]?.id, command.id);
    await owner.service.result('d1', resultMessage(command.id, 'succeeded', { result: { ok: true } }), Date.now());
    const done = await nodes[2]!.service.get(command.id);
    t.equal(done?.state, 'succeeded', 'node 3 reads the outcome');
    t.same(done?.transitions.map((s) => s.state), ['queued', 'sent', 'succeeded']);
    t.same(announced(nodes, command.id), ['queued', 'sent', 'succeeded'], 'each transition announced once across nodes');
    t.same(nodes[1]!.seen.states(command.id), ['queued'], 'by the node that made it');
    t.same(owner.seen.states(command.id), ['sent', 'succeeded']);
  });

  t.test('a lost notification only delays: the reconciler of the node holding the device delivers', async (t) => {
    await fresh();
    const nodes = await three(t, (i) => (i === 0 ? { reconcileIntervalMs: 100 } : {}));
    const owner = nodes[0]!;
    const link = owner.links.connect('d3');
    const { command } = await nodes[2]!.service.create('d3', { name: 'identify' }, { actor: 'alice' });
    await eventually(() => link.commands.length === 1, 5_000, 'delivered by the reconciler');
    await eventually(async () => (await nodes[1]!.service.get(command.id))?.state === 'sent', 5_000, 'sent');
    await owner.service.result('d3', resultMessage(command.id, 'succeeded'), Date.now());
    t.equal((await nodes[1]!.service.get(command.id))?.state, 'succeeded');
    t.same(announced(nodes, command.id), ['queued', 'sent', 'succeeded']);
    t.equal(link.commands.length, 1, 'sent once');
  });

  t.test('overdue commands end once while three nodes sweep and the sender keeps local timers', async (t) => {
    await fresh();
    const creator = await node(t, pools[0]);
    const holder = creator.links.connect('d1');
    const ids: string[] = [];
    // Sent by the creator (its local timers run), and queued for devices nobody holds (only sweepers end them).
    for (let i = 0; i < 10; i += 1) ids.push((await creator.service.create('d1', { name: 'identify', timeoutMs: 300 }, { actor: 'a' })).command.id);
    for (const device of ['d2', 'd3']) {
      for (let i = 0; i < 5; i += 1) ids.push((await creator.service.create(device, { name: 'identify', expiresAt: Date.now() + 300 }, { actor: 'a' })).command.id);
    }
    t.equal(holder.commands.length, 10);
    const nodes = await three(t, { sweepIntervalMs: 20 });
    await eventually(async () => {
      const counts = await nodes[0]!.service.countByState();
      return counts.timed_out === 10 && counts.expired === 10;
    }, 10_000, 'all ended');
    const everyone = [creator, ...nodes];
    for (const id of ids.slice(0, 10)) t.same(announced(everyone, id), ['queued', 'sent', 'timed_out'], `${id} timed out once`);
    for (const id of ids.slice(10)) t.same(announced(everyone, id), ['expired', 'queued'], `${id} expired once`);
    const sweeps = await Promise.all(nodes.map((n) => n.service.sweep()));
    t.same(sweeps, [0, 0, 0], 'nothing left to end');
  });

  t.test('the same device result arriving on two nodes at once is one transition', async (t) => {
    await fresh();
    const nodes = await three(t);
    const link = nodes[0]!.links.connect('d4');
    const ids: string[] = [];
    for (let i = 0; i < 10; i += 1) ids.push((await nodes[0]!.service.create('d4', { name: 'identify' }, { actor: 'a' })).command.id);
    t.equal(link.commands.length, 10);
    // As after a reconnect to another node with the old connection's result still in flight.
    await Promise.all(ids.slice(0, 5).flatMap((id) => [0, 1].map((n) => nodes[n]!.service.result('d4', resultMessage(id, 'succeeded'), Date.now()))));
    for (const id of ids.slice(0, 5)) t.same(announced(nodes, id), ['queued', 'sent', 'succeeded'].sort(), `${id}: one succeeded`);
    const applied = nodes.reduce((n, x) => n + (x.service.resultCounts.get('applied:succeeded') ?? 0), 0);
    const duplicates = nodes.reduce((n, x) => n + (x.service.resultCounts.get('duplicate:succeeded') ?? 0), 0);
    t.same([applied, duplicates], [5, 5]);
    // Acknowledged and succeeded racing on two nodes: neither transition may be lost or made twice.
    await Promise.all(ids.slice(5).flatMap((id) => [nodes[1]!.service.result('d4', resultMessage(id, 'acknowledged'), Date.now()), nodes[2]!.service.result('d4', resultMessage(id, 'succeeded'), Date.now())]));
    for (const id of ids.slice(5)) {
      const stored = await nodes[0]!.service.get(id);
      t.equal(stored?.state, 'succeeded');
      const states = stored?.transitions.map((s) => s.state) ?? [];
      t.ok(states.join() === 'queued,sent,acknowledged,succeeded' || states.join() === 'queued,sent,succeeded', `${id}: ${states.join()}`);
      t.same(announced(nodes, id), [...states].sort(), `${id}: announced exactly what is stored`);
    }
  });
}
