import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteTelemetryStore } from '../../src/telemetry/sqlite-telemetry-store.js';
import { runStoreContract } from './store-contract.js';

runStoreContract(t, 'sqlite', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-store-'));
  const store = new SqliteTelemetryStore({ file: join(dir, 'telemetry.db') });
  await store.open();
  t.teardown(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
});

t.test('sqlite: data survives close and reopen', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'telemetry.db');
  const first = new SqliteTelemetryStore({ file });
  await first.open();
  await first.write([{ deviceId: 'd', metric: 'm', ts: 1000, value: 5 }]);
  await first.close();
  const second = new SqliteTelemetryStore({ file });
  await second.open();
  t.teardown(() => second.close());
  t.same(await second.latest('d'), { m: { ts: 1000, value: 5 } });
  // New series after reopen get fresh ids, not clashing with old ones.
  await second.write([{ deviceId: 'd', metric: 'n', ts: 1000, value: 6 }]);
  t.same(await second.latest('d'), { m: { ts: 1000, value: 5 }, n: { ts: 1000, value: 6 } });
});

t.test('sqlite: the journal moves into the clustered table in the background, and the newest write of a point wins', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'telemetry.db');
  const store = new SqliteTelemetryStore({ file });
  await store.open();
  t.teardown(() => store.close());
  // The same point written first and last, 5,000 rows apart.
  await store.write([{ deviceId: 'd', metric: 'm', ts: 1000, value: 1 }]);
  await store.write(Array.from({ length: 5000 }, (_, i) => ({ deviceId: 'other', metric: 'x', ts: 2000 + i, value: i })));
  await store.write([{ deviceId: 'd', metric: 'm', ts: 1000, value: 2 }]);

  // Read from another connection: the store's own reads would compact first.
  const peek = new Database(file, { readonly: true });
  t.teardown(() => peek.close());
  const count = (table: string): number => (peek.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  t.equal(count('recent'), 5002, 'all in the journal at first');
  const deadline = Date.now() + 5000;
  while (count('recent') > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.equal(count('recent'), 0, 'the timer moved the whole journal');
  t.equal(count('samples'), 5001);
  t.same(peek.prepare("SELECT value FROM samples JOIN series ON series.id = series_id WHERE device_id = 'd'").all(), [{ value: 2 }]);
});

/** A store in a temp dir whose moves start every 20 ms and go 10 rows at a time, and `scalar`: the column `n` of a query on its file, from a read-only connection. */
async function storeWithTinySlices(t: Test): Promise<{ store: SqliteTelemetryStore; scalar: (sql: string) => number }> {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'telemetry.db');
  const store = new SqliteTelemetryStore({ file, moveEveryMs: 20, moveSliceRows: 10 });
  await store.open();
  t.teardown(() => store.close());
  const peek = new Database(file, { readonly: true });
  t.teardown(() => peek.close());
  return { store, scalar: (sql) => (peek.prepare(sql).get() as { n: number }).n };
}

/** Until a move is half done: some rows in `samples`, the journal not yet emptied. The slices run one per turn of the event loop: look between them. */
async function untilHalfMoved(scalar: (sql: string) => number, deadline: number): Promise<void> {
  while (!(scalar('SELECT count(*) AS n FROM samples') > 0 && scalar('SELECT count(*) AS n FROM recent') > 0) && Date.now() < deadline) await new Promise((r) => setImmediate(r));
}

t.test('sqlite: a move of the journal goes in slices, writes commit between them, and the newest write of a point still wins', async (t) => {
  const { store, scalar } = await storeWithTinySlices(t);
  const count = (table: string): number => scalar(`SELECT count(*) AS n FROM ${table}`);
  await store.write([{ deviceId: 'd', metric: 'm', ts: 1000, value: 1 }]);
  await store.write(Array.from({ length: 2000 }, (_, i) => ({ deviceId: 'other', metric: 'x', ts: 2000 + i, value: i })));
  const deadline = Date.now() + 10_000;
  await untilHalfMoved(scalar, deadline);
  const moved = count('samples');
  t.ok(moved > 0 && moved < 2001, `caught a move half done (${moved} of 2001 rows moved)`);

  // The same point again, while the move is under way: committed at once, into the journal.
  const journalBefore = count('recent');
  await store.write([{ deviceId: 'd', metric: 'm', ts: 1000, value: 2 }]);
  t.equal(count('recent'), journalBefore + 1, 'the write committed without waiting for the move');
  t.ok(count('samples') < 2001, 'and the move is still under way');

  while ((count('recent') > 0 || count('samples') < 2001) && Date.now() < deadline + 10_000) await new Promise((r) => setTimeout(r, 20));
  t.equal(count('recent'), 0, 'the journal emptied');
  t.equal(count('samples'), 2001, 'every row moved once');
  t.equal(scalar("SELECT value AS n FROM samples JOIN series ON series.id = series_id WHERE device_id = 'd'"), 2, 'the newest write of the point won');
});

t.test('sqlite: a store killed (SIGKILL) halfway through a move loses nothing and duplicates nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'telemetry.db');
  const total = 20_000;
  // A real process, killed for real: tiny slices make the move last long enough to be caught in it.
  const child = join(dir, 'writer.mjs');
  writeFileSync(
    child,
    `import { SqliteTelemetryStore } from ${JSON.stringify(new URL('../../src/telemetry/sqlite-telemetry-store.ts', import.meta.url).href)};
const store = new SqliteTelemetryStore({ file: ${JSON.stringify(file)}, moveEveryMs: 20, moveSliceRows: 5 });
await store.open();
await store.write([{ deviceId: 'd', metric: 'm', ts: 1000, value: 1 }]);
await store.write(Array.from({ length: ${total} }, (_, i) => ({ deviceId: 'other', metric: 'x', ts: 2000 + i, value: i })));
await store.write([{ deviceId: 'd', metric: 'm', ts: 1000, value: 2 }]);
process.stdout.write('written\\n');
setInterval(() => {}, 1000);
`,
  );
  const writer = spawn(process.execPath, ['--import=tsx', child], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => writer.once('exit', resolve));
  t.teardown(async () => {
    writer.kill('SIGKILL');
    await exited;
  });
  await new Promise<void>((resolve, reject) => {
    writer.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('written') && resolve());
    writer.once('exit', (code) => reject(new Error(`the writer exited early (code ${code})`)));
  });

  const peek = new Database(file, { readonly: true });
  const count = (table: string): number => (peek.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  const deadline = Date.now() + 20_000;
  while (!(count('samples') > 0 && count('recent') > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  const moved = count('samples');
  writer.kill('SIGKILL');
  await exited;
  peek.close();
  t.ok(moved > 0 && moved < total + 1, `killed halfway through a move (${moved} of ${total + 1} rows moved)`);

  const after = new SqliteTelemetryStore({ file });
  await after.open();
  t.teardown(() => after.close());
  const check = new Database(file, { readonly: true });
  t.teardown(() => check.close());
  const rows = (sql: string): unknown[] => check.prepare(sql).all();
  t.same(rows('SELECT count(*) AS n FROM recent'), [{ n: 0 }], 'the journal moved at the restart');
  t.same(rows("SELECT count(*) AS n, sum(value) AS sum FROM samples JOIN series ON series.id = series_id WHERE device_id = 'other'"), [{ n: total, sum: (total * (total - 1)) / 2 }], 'every row once');
  t.same(await after.latest('d'), { m: { ts: 1000, value: 2 } }, 'the newest write of the point won');
});

t.test('sqlite: a device deleted halfway through a move does not come back with its remaining slices', async (t) => {
  const { store, scalar } = await storeWithTinySlices(t);
  await store.write(Array.from({ length: 1000 }, (_, i) => ({ deviceId: i % 2 ? 'gone' : 'kept', metric: 'x', ts: 2000 + i, value: i })));
  const deadline = Date.now() + 10_000;
  await untilHalfMoved(scalar, deadline);
  t.ok(scalar('SELECT count(*) AS n FROM recent') > 0, 'caught a move half done');
  await store.deleteDevice('gone');
  while (scalar('SELECT count(*) AS n FROM recent') > 0 && Date.now() < deadline + 10_000) await new Promise((r) => setTimeout(r, 20));
  t.equal(scalar('SELECT count(*) AS n FROM samples WHERE series_id NOT IN (SELECT id FROM series)'), 0, 'no row of the deleted device was moved back');
  t.equal(scalar("SELECT count(*) AS n FROM samples JOIN series ON series.id = series_id WHERE device_id = 'kept'"), 500, 'the other device has all its rows');
  t.same(await store.latest('gone'), {});
});
