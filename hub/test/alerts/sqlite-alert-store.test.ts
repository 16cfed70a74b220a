/** The rule and alert store contract on SQLite: alerts.db in a temp dir per test. */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALERTS_FILE, SqliteAlertStore } from '../../src/alerts/sqlite-alert-store.js';
import { runAlertStoreContract } from './alert-store-contract.js';

runAlertStoreContract(t, 'sqlite', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-alerts-'));
  const stores: SqliteAlertStore[] = [];
  t.teardown(async () => {
    for (const s of stores) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    async open() {
      const store = new SqliteAlertStore(join(dir, ALERTS_FILE));
      await store.open();
      stores.push(store);
      return store;
    },
  };
});
