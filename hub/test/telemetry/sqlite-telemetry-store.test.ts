import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
