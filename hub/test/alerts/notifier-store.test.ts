/**
 * The notifier store contract on SQLite, and what only its file shows: the
 * file holding webhook secrets is readable by its owner only.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { SqliteNotifierStore } from '../../src/alerts/notify/sqlite-notifier-store.js';
import { runNotifierStoreContract } from './notifier-store-contract.js';

async function openStore(t: { teardown(fn: () => unknown): void }): Promise<{ store: SqliteNotifierStore; file: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'notify-store-'));
  const file = join(dir, 'notify.db');
  const store = new SqliteNotifierStore(file);
  await store.open();
  t.teardown(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store, file };
}

t.test('the file is readable by its owner only', async (t) => {
  const { file } = await openStore(t);
  t.equal(statSync(file).mode & 0o777, 0o600);
});

runNotifierStoreContract(t, 'sqlite', async (t) => (await openStore(t)).store);
