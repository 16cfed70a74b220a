/** The RegistryStore contract on SQLite: a registry.db in a temp dir per test. */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteRegistryStore } from '../../src/registry/sqlite-registry-store.js';
import type { RegistryStore } from '../../src/registry/registry-store.js';
import { runRegistryStoreContract } from './registry-store-contract.js';

runRegistryStoreContract(t, 'sqlite', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-registry-'));
  const stores: RegistryStore[] = [];
  t.teardown(async () => {
    for (const s of stores) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    async open() {
      const store = new SqliteRegistryStore(join(dir, 'registry.db'));
      await store.open();
      stores.push(store);
      return store;
    },
  };
});
