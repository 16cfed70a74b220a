/** users.db keeps the account store contract. */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteAccountStore } from '../../src/auth/sqlite-account-store.js';
import { runAccountStoreContract } from './account-store-contract.js';

runAccountStoreContract(t, 'sqlite', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-accounts-'));
  const file = join(dir, 'users.db');
  const store = new SqliteAccountStore(file);
  await store.open();
  t.teardown(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    store,
    stored: async () => {
      const db = new Database(file, { readonly: true });
      try {
        return ['users', 'sessions', 'api_tokens'].map((table) => JSON.stringify(db.prepare(`SELECT * FROM ${table}`).all())).join('\n');
      } finally {
        db.close();
      }
    },
  };
});
