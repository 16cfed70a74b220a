/**
 * The rule and alert store contract on a real PostgreSQL (a schema per
 * test, each open() a new pool: another node), then what the cluster adds:
 * every rule write raises the shared rules version another node polls, a
 * node takes over the open alerts of the devices it now owns, and an
 * unreachable server is StorageUnavailableError (503 storage_unavailable).
 */
import t from 'tap';
import { toApiError } from '../../../src/api/api-error.js';
import { PgAlertStore } from '../../../src/cluster/alerts/pg-alert-store.js';
import { PgDatabase } from '../../../src/cluster/pg/pg-database.js';
import { createLogger } from '../../../src/log.js';
import { postgresForTest } from '../../helpers/postgres.js';
import { alert, rule, runAlertStoreContract } from '../../alerts/alert-store-contract.js';
import { migratedDatabase } from '../pg-test-database.js';

const pg = await postgresForTest(t);
if (pg) {
  runAlertStoreContract(t, 'postgres', async (t) => {
    const db = await migratedDatabase(t, pg);
    return { open: async () => new PgAlertStore(db.connect()) };
  });

  t.test('postgres: every rule write on node A raises the rules version node B reads; refused writes do not', async (t) => {
    const db = await migratedDatabase(t, pg);
    const [a, b] = [new PgAlertStore(db.connect()), new PgAlertStore(db.connect())];
    t.equal(await b.rulesVersion(), 0);
    await a.insertRule(rule('r1'));
    t.equal(await b.rulesVersion(), 1);
    await a.replaceRule(rule('r1', 2));
    t.equal(await b.rulesVersion(), 2);
    t.equal(await a.replaceRule(rule('r1', 2)), false);
    t.equal(await a.deleteRule('nope'), false);
    t.equal(await b.rulesVersion(), 2, 'nothing changed, the version stays');
    await a.deleteRule('r1');
    t.equal(await b.rulesVersion(), 3);
  });

  t.test('postgres: a node takes over the open alerts of the devices it now owns, firing ones as they were', async (t) => {
    const db = await migratedDatabase(t, pg);
    const [a, b] = [new PgAlertStore(db.connect()), new PgAlertStore(db.connect())];
    const firing = alert('r1', 'mover');
    const pending = alert('r2', 'mover', { id: 'a-p', state: 'pending', firedAt: null, startedAt: 7_000 });
    await a.saveAlert(firing, null);
    await a.saveAlert(pending, null);
    await a.saveAlert(alert('r1', 'stayer'), null);
    await a.saveAlert(alert('r3', 'mover', { id: 'a-done', state: 'resolved' }), null);
    const taken = (await b.openAlertsOf(['mover', 'absent'])).sort((x, y) => x.id.localeCompare(y.id));
    t.same(taken, [firing, pending].sort((x, y) => x.id.localeCompare(y.id)));
    t.same(await b.openAlertsOf([]), []);
  });

  t.test('postgres: an unreachable server is StorageUnavailableError, answered 503 storage_unavailable', async (t) => {
    const gone = new PgDatabase({ url: 'postgres://nobody@127.0.0.1:1/none', log: createLogger('silent'), connectTimeoutMs: 500 });
    t.teardown(() => gone.close());
    const store = new PgAlertStore(gone);
    const err = await store.insertRule(rule('r1')).then(() => null, (e: unknown) => e);
    t.equal((err as Error).name, 'StorageUnavailableError');
    t.match(toApiError(err), { status: 503, body: { error: 'storage_unavailable' } });
    const listErr = await store.listAlerts({}).then(() => null, (e: unknown) => e);
    t.match(toApiError(listErr), { status: 503 });
  });
}
