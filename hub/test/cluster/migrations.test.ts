/**
 * Migrations on a real PostgreSQL: three nodes starting at once apply each
 * migration exactly once; a second start applies nothing; a failing
 * migration leaves nothing half-done and names itself.
 */
import t from 'tap';
import { migrate, type Migration } from '../../src/cluster/pg/migrations.js';
import { postgresForTest } from '../helpers/postgres.js';

const LISTS: Migration[][] = [
  [
    { id: 'a-1', sql: 'CREATE TABLE a (x int)' },
    { id: 'a-2', sql: 'ALTER TABLE a ADD COLUMN y int' },
  ],
  [{ id: 'b-1', sql: 'CREATE TABLE b (x int); INSERT INTO b VALUES (1)' }],
];

t.test('nodes starting at once apply each migration once; a restart applies none', async (t) => {
  const pg = await postgresForTest(t);
  if (!pg) return;
  const nodes = [pg.connect(), pg.connect(), pg.connect()];
  const applied = await Promise.all(nodes.map((db) => migrate(db, LISTS)));
  t.same(applied.flat().sort(), ['a-1', 'a-2', 'b-1'], 'every migration ran on exactly one node');
  t.same(await migrate(nodes[0]!, LISTS), [], 'nothing left at the next start');
  const rows = await nodes[1]!.query<{ n: string }>('SELECT count(*) AS n FROM b');
  t.equal(rows.rows[0]!.n, '1');
});

t.test('a failing migration is rolled back and named', async (t) => {
  const pg = await postgresForTest(t);
  if (!pg) return;
  const db = pg.connect();
  const broken: Migration[][] = [[{ id: 'c-1', sql: 'CREATE TABLE c (x int); SELECT no_such_function()' }]];
  await t.rejects(migrate(db, broken), /migration c-1 failed: function no_such_function\(\) does not exist/);
  const exists = await db.query<{ t: string | null }>("SELECT to_regclass('c')::text AS t");
  t.equal(exists.rows[0]!.t, null, 'the table of the failed migration is not there');
  await t.rejects(migrate(db, [[{ id: 'd', sql: 'SELECT 1' }, { id: 'd', sql: 'SELECT 2' }]]), /migration id d is used twice/);
});

t.test('an unreachable server is StorageUnavailableError', async (t) => {
  const pg = await postgresForTest(t);
  if (!pg) return;
  const db = pg.connect();
  await pg.server.kill();
  await t.rejects(db.query('SELECT 1'), { name: 'StorageUnavailableError' });
  await t.rejects(db.transaction((tx) => tx.query('SELECT 1')), { name: 'StorageUnavailableError' });
  await pg.server.restart();
  const r = await db.query<{ one: number }>('SELECT 1 AS one');
  t.equal(r.rows[0]!.one, 1, 'the pool recovers once the server is back');
});
