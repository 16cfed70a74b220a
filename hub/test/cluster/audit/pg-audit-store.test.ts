/**
 * The audit log contract over PostgreSQL, then what only a shared database
 * adds: three nodes recording at once lose nothing and page stably, a
 * command outcome reported by every node is written once, and an entry
 * written in a change's transaction goes or stays with the change.
 */
import t, { type Test } from 'tap';
import { ProtocolError } from '@iot-hub/protocol';
import { AuditLog } from '../../../src/audit/audit-log.js';
import { PgAuditStore } from '../../../src/cluster/audit/pg-audit-store.js';
import { AUDIT_MIGRATIONS } from '../../../src/cluster/audit/audit-migrations.js';
import { migrate } from '../../../src/cluster/pg/migrations.js';
import type { PgDatabase, Queryable } from '../../../src/cluster/pg/pg-database.js';
import { EventBus } from '../../../src/events/event-bus.js';
import { createLogger } from '../../../src/log.js';
import { postgresForTest, type PgForTest } from '../../helpers/postgres.js';
import { auditStoreContract, command, type AuditBacking } from '../../audit/audit-store-contract.js';

// One server for the file; each test empties the table (ids from 1 again).
const started = await postgresForTest(t);
if (started) await suite(started, started.connect());

async function suite(pg: PgForTest, admin: PgDatabase): Promise<void> {
  await migrate(admin, [AUDIT_MIGRATIONS]);

  /** A node's audit log on its own pool. */
  async function nodeLog(t: Test, db: PgDatabase, options: { maxEntries?: number; pruneEvery?: number } = {}) {
    const events = new EventBus();
    const audit = new AuditLog<Queryable>({ store: new PgAuditStore(db), events, log: createLogger('silent'), ...options });
    await audit.open();
    t.teardown(() => audit.close());
    return { audit, events };
  }

  async function empty(): Promise<void> {
    await admin.query('TRUNCATE audit_log RESTART IDENTITY');
  }

  t.test('contract', async (t) => {
    auditStoreContract(t, async (t): Promise<AuditBacking> => {
      await empty();
      const db = pg.connect();
      return { open: (options = {}) => nodeLog(t, db, options) };
    });
  });

  t.test('three nodes recording at once: every entry once, ids unique, pages stable while others write', async (t) => {
    await empty();
    const nodes = await Promise.all([0, 1, 2].map(() => nodeLog(t, pg.connect())));
    const PER_NODE = 200; // a multiple of 8
    // Each node keeps 8 writes in flight (its pool has 10 connections), as an API under load would.
    const recorded = await Promise.all(
      nodes.map(async ({ audit }, n) => {
        const entries = [];
        for (let i = 0; i < PER_NODE; i += 8) {
          const batch = Array.from({ length: 8 }, (_, k) => audit.record({ actor: `node${n}`, action: 'state.desired', deviceId: `d${(i + k) % 7}`, details: { n, i: i + k }, outcome: 'ok' }));
          entries.push(...(await Promise.all(batch)));
        }
        return entries;
      }),
    );
    const ids = recorded.flat().map((e) => e?.id);
    t.equal(ids.filter((id) => id === undefined).length, 0, 'no record failed');
    t.equal(new Set(ids).size, 3 * PER_NODE, 'every id is unique');

    // Page through with a small page while the nodes keep writing: newer entries appear on top, never on a later page.
    const writing = Promise.all(nodes.map(({ audit }, n) => Promise.all(Array.from({ length: 8 }, (_, i) => audit.record({ actor: `node${n}`, action: 'device.probe', deviceId: 'late', details: { i }, outcome: 'ok' })))));
    const seen: number[] = [];
    let page = await nodes[1]!.audit.list({ limit: 37, action: 'state.desired' });
    seen.push(...page.entries.map((e) => e.id));
    while (page.next !== null) {
      page = await nodes[(seen.length / 37) % 3 | 0]!.audit.list({ limit: 37, action: 'state.desired', before: page.next });
      seen.push(...page.entries.map((e) => e.id));
    }
    await writing;
    t.equal(seen.length, 3 * PER_NODE, 'every entry once across the pages');
    t.same(seen, [...ids].sort((a, b) => b! - a!), 'newest first, no duplicates');
    const all = await nodes[2]!.audit.list({ limit: 1000 });
    t.equal(all.entries.length, 3 * PER_NODE + 24, 'the entries written while paging are there too');
  });

  t.test('a command outcome reported on every node is written once; pruning on three nodes at once keeps the newest', async (t) => {
    await empty();
    const nodes = await Promise.all([0, 1, 2].map(() => nodeLog(t, pg.connect(), { maxEntries: 20, pruneEvery: 10 })));
    await nodes[0]!.audit.record({ actor: 'admin', action: 'command.create', deviceId: 'plug-1', commandId: 'cmd_1', details: {} });
    const outcomeChanges: number[] = [];
    const store = new PgAuditStore(pg.connect());
    // What each node's event handler does, raced: exactly one UPDATE finds the outcome still empty.
    for (const changed of await Promise.all(['succeeded', 'succeeded', 'succeeded'].map((s) => store.setCommandOutcome('cmd_1', s)))) outcomeChanges.push(changed ? 1 : 0);
    t.same(outcomeChanges.reduce((a, b) => a + b), 1, 'one node set it');
    nodes.forEach(({ events }) => events.emit('command', { command: command('cmd_1', 'failed') }));
    await new Promise((r) => setTimeout(r, 100));
    t.equal((await nodes[2]!.audit.list({ limit: 1 })).entries[0]?.outcome, 'succeeded', 'a later event does not overwrite it');

    await Promise.all(nodes.map(({ audit }, n) => Promise.all(Array.from({ length: 30 }, (_, i) => audit.record({ actor: `node${n}`, action: 'device.create', deviceId: `d${i}`, details: {}, outcome: 'ok' })))));
    await Promise.all(nodes.map(({ audit }) => audit.close().then(() => audit.open())));
    const kept = (await nodes[0]!.audit.list({ limit: 1000 })).entries.map((e) => e.id);
    t.same(kept, Array.from({ length: 20 }, (_, i) => 91 - i), 'the newest 20 of 91 entries');
  });

  t.test('recordIn writes inside the change\'s transaction: a rollback takes the entry with it', async (t) => {
    await empty();
    const db = pg.connect();
    const { audit } = await nodeLog(t, db);
    await t.rejects(
      db.transaction(async (tx) => {
        await audit.recordIn(tx, { actor: 'admin', action: 'user.create', deviceId: null, details: { username: 'x' }, outcome: 'ok' });
        throw new Error('the change failed');
      }),
      /the change failed/,
    );
    const kept = await db.transaction((tx) => audit.recordIn(tx, { actor: 'admin', action: 'user.create', deviceId: null, details: { username: 'y' }, outcome: 'ok' }, 9));
    t.same((await audit.list({ limit: 10 })).entries, [{ ...kept, id: 2, ts: 9 }], 'only the committed entry (id 1 went with its rollback)');
  });

  t.test('a NUL in a refused request\'s device id is stored as U+FFFD and found by the same filter', async (t) => {
    await empty();
    const { audit } = await nodeLog(t, pg.connect());
    const entry = await audit.record({ actor: 'admin', action: 'device.delete', deviceId: 'a\u0000b', details: {}, outcome: 'not_found' }, 3);
    t.equal(entry?.id, 1);
    t.same((await audit.list({ limit: 10, deviceId: 'a\u0000b' })).entries.map((e) => e.deviceId), ['a\uFFFDb']);
  });

  t.test('PostgreSQL away: record resolves null, list is 503 storage_unavailable', async (t) => {
    await empty();
    const { audit } = await nodeLog(t, pg.connect());
    await pg.server.kill();
    t.equal(await audit.record({ actor: 'admin', action: 'device.delete', deviceId: 'x', details: {}, outcome: 'ok' }), null);
    await t.rejects(audit.list({ limit: 1 }), new ProtocolError('storage_unavailable', 'the audit log could not be read'));
    await pg.server.restart();
    t.equal((await audit.record({ actor: 'admin', action: 'device.delete', deviceId: 'x', details: {}, outcome: 'ok' }))?.id, 1);
  });
}
