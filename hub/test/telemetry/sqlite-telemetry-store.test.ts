import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
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
