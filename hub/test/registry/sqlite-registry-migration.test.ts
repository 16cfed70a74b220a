/**
 * A registry.db written by an older hub (schema version 0: no token times,
 * no room, no labels; version 1: no room, no labels) opens in place: its
 * devices keep their tokens, get no room and no labels, and can be given
 * both; the file is at the current version afterwards.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REGISTRY_SCHEMA_VERSION, SqliteRegistryStore } from '../../src/registry/sqlite-registry-store.js';
import { device } from './registry-store-contract.js';

const T0 = Date.UTC(2026, 5, 1);

/** The devices table as the first hub release created it. */
const VERSION_0 = `
CREATE TABLE devices (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, token_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL, capabilities TEXT, last_seen INTEGER, last_transport TEXT
);
INSERT INTO devices VALUES ('old-1', 'sensor', 'Old one', '${'a'.repeat(64)}', ${T0}, NULL, ${T0 + 5}, 'mqtt');
`;

const VERSION_1 = `${VERSION_0}
ALTER TABLE devices ADD COLUMN token_issued_at INTEGER;
UPDATE devices SET token_issued_at = created_at + 1;
ALTER TABLE devices ADD COLUMN token_revoked_at INTEGER;
PRAGMA user_version = 1;
`;

for (const [version, sql, issuedAt] of [
  [0, VERSION_0, T0],
  [1, VERSION_1, T0 + 1],
] as const) {
  t.test(`a version ${version} registry.db opens, its device without room or labels, and takes them`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'iot-hub-registry-migration-'));
    const file = join(dir, 'registry.db');
    const store = new SqliteRegistryStore(file);
    t.teardown(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const old = new Database(file);
    old.exec(sql);
    t.equal(old.pragma('user_version', { simple: true }), version);
    old.close();

    await store.open();
    const expected = device('old-1', { name: 'Old one', tokenIssuedAt: issuedAt, lastSeen: T0 + 5, lastTransport: 'mqtt' });
    t.strictSame(await store.loadAll(), [expected], 'room null, labels empty, everything else kept');
    t.equal(await store.saveAttributes('old-1', { name: 'Old one', room: 'Cellar', labels: ['legacy'] }), true);
    t.equal(await store.insert(device('new-1', { room: 'Hall', labels: ['x'] })), true);
    await store.close();

    const reopened = new SqliteRegistryStore(file);
    await reopened.open();
    t.strictSame(await reopened.loadAll(), [device('new-1', { room: 'Hall', labels: ['x'] }), { ...expected, room: 'Cellar', labels: ['legacy'] }]);
    await reopened.close();
    const check = new Database(file, { readonly: true });
    t.equal(check.pragma('user_version', { simple: true }), REGISTRY_SCHEMA_VERSION, 'migrated once, to the current version');
    t.equal(REGISTRY_SCHEMA_VERSION, 2);
    check.close();
  });
}
