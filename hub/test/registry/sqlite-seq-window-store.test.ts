/** The seq window store contract on SQLite: registry.db in a temp dir per test. */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteRegistryStore } from '../../src/registry/sqlite-registry-store.js';
import { SqliteSeqWindowStore } from '../../src/registry/sqlite-seq-window-store.js';
import { runSeqWindowStoreContract } from './seq-window-store-contract.js';

runSeqWindowStoreContract(t, 'sqlite', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-seq-'));
  const closers: (() => Promise<void>)[] = [];
  t.teardown(async () => {
    for (const close of closers) await close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    async open() {
      const file = join(dir, 'registry.db');
      const registry = new SqliteRegistryStore(file);
      await registry.open();
      const windows = new SqliteSeqWindowStore(file);
      await windows.open();
      closers.push(() => windows.close(), () => registry.close());
      return { registry, windows };
    },
  };
});
