/**
 * The command service contract on a real PostgreSQL (PgCommandService, one
 * node), and what it answers while the server is away.
 */
import t from 'tap';
import pino from 'pino';
import { PgCommandService } from '../../src/cluster/commands/pg-command-service.js';
import { migrate } from '../../src/cluster/pg/migrations.js';
import { EventBus } from '../../src/events/event-bus.js';
import { commandServiceContract } from '../commands/command-service-contract.js';
import { Links, TestDevices, refused, resultMessage } from '../commands/command-fixtures.js';
import { postgresForTest } from '../helpers/postgres.js';

const pg = await postgresForTest(t);
if (pg) {
  const db = pg.connect();
  await migrate(db);

  commandServiceContract(t, 'postgres', async (t, setup) => {
    await db.query('TRUNCATE commands');
    const service = new PgCommandService({ db, ...setup, sweepIntervalMs: 100, reconcileIntervalMs: 100 });
    await service.open();
    t.teardown(() => service.close());
    return service;
  });

  t.test('postgres away: create, cancel and reads answer storage_unavailable, results are not acknowledged; all work again after', async (t) => {
    await db.query('TRUNCATE commands');
    const node = pg.connect({ maxConnections: 2 });
    const links = new Links();
    const service = new PgCommandService({
      db: node,
      registry: new TestDevices().add('d1'),
      events: new EventBus(),
      linkOf: links.linkOf,
      defaultTimeoutMs: 30_000,
      defaultExpiryMs: 3_600_000,
      maxPendingPerDevice: 5,
      log: pino({ level: 'silent' }),
    });
    await service.open();
    t.teardown(() => service.close());
    links.connect('d1');
    const { command } = await service.create('d1', { name: 'identify' }, { actor: 'a' });
    await pg.server.kill();
    await refused(t, service.create('d1', { name: 'identify' }, { actor: 'a' }), 'storage_unavailable');
    await refused(t, service.cancel(command.id, 'a'), 'storage_unavailable');
    await refused(t, service.get(command.id), 'storage_unavailable');
    await refused(t, service.list('d1', { limit: 5 }), 'storage_unavailable');
    await refused(t, service.result('d1', resultMessage(command.id, 'succeeded'), Date.now()), 'storage_unavailable');
    await pg.server.restart();
    await service.result('d1', resultMessage(command.id, 'succeeded'), Date.now());
    t.equal((await service.get(command.id))?.state, 'succeeded', 'the resent result is taken');
    t.same(Object.fromEntries(service.resultCounts), { 'applied:succeeded': 1 }, 'the refused one was not counted');
  });

  t.test('inTransaction writes with each change this node made, in its transaction: a failing one stores nothing', async (t) => {
    await db.query('TRUNCATE commands');
    await db.query('CREATE TABLE IF NOT EXISTS command_log (id TEXT NOT NULL, state TEXT NOT NULL)');
    await db.query('TRUNCATE command_log');
    let failNext = false;
    const links = new Links();
    const service = new PgCommandService({
      db,
      registry: new TestDevices().add('d1'),
      events: new EventBus(),
      linkOf: links.linkOf,
      defaultTimeoutMs: 30_000,
      defaultExpiryMs: 3_600_000,
      maxPendingPerDevice: 5,
      log: pino({ level: 'silent' }),
      inTransaction: async (tx, changed) => {
        for (const c of changed) await tx.query('INSERT INTO command_log (id, state) VALUES ($1, $2)', [c.id, c.state]);
        if (failNext) throw new Error('audit write failed');
      },
    });
    await service.open();
    t.teardown(() => service.close());
    const { command } = await service.create('d1', { name: 'identify' }, { actor: 'a' });
    links.connect('d1');
    await service.deliverQueued('d1');
    await service.result('d1', resultMessage(command.id, 'succeeded'), Date.now());
    failNext = true;
    await refused(t, service.create('d1', { name: 'identify' }, { actor: 'a' }), 'storage_unavailable');
    const logged = await db.query<{ id: string; state: string }>('SELECT id, state FROM command_log');
    t.same(logged.rows, [
      { id: command.id, state: 'queued' },
      { id: command.id, state: 'sent' },
      { id: command.id, state: 'succeeded' },
    ]);
    t.same(await service.countByState().then((c) => c.queued), 0, 'the refused create left no command');
  });
}
