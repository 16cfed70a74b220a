/**
 * Accounts on PostgreSQL: the account store contract, then what only a
 * shared store can show, with one pool per simulated node: a login on node A
 * authenticates on node B at once, a revocation on B is refused on A's next
 * check, and nodes starting at once create exactly one first admin.
 */
import t from 'tap';
import pino from 'pino';
import { Accounts, AccountError, type RevocationOrigin } from '../../src/auth/accounts.js';
import { toApiError } from '../../src/api/api-error.js';
import { PgAccountStore } from '../../src/cluster/auth/pg-account-store.js';
import { ALL_MIGRATIONS, migrate } from '../../src/cluster/pg/migrations.js';
import type { PgDatabase } from '../../src/cluster/pg/pg-database.js';
import { runAccountStoreContract } from '../security/account-store-contract.js';
import { postgresForTest } from '../helpers/postgres.js';

const TABLES = ['users', 'login_sessions', 'api_tokens'];

async function empty(db: PgDatabase): Promise<void> {
  await db.query(`TRUNCATE ${TABLES.join(', ')} RESTART IDENTITY CASCADE`);
}

function accountsOn(db: PgDatabase, adminToken = 'the-admin-token'): Accounts {
  return new Accounts({
    store: new PgAccountStore(db),
    adminAuth: { verify: (token) => token === adminToken, generatedToken: null },
    sessionIdleMs: 10 * 60_000,
    sessionMaxMs: 60 * 60_000,
    log: pino({ level: 'silent' }),
  });
}

t.test('postgres', async (t) => {
  const pg = await postgresForTest(t);
  if (!pg) return;
  const nodes = [pg.connect(), pg.connect(), pg.connect()];
  const applied = await Promise.all(nodes.map((db) => migrate(db, ALL_MIGRATIONS)));
  t.equal(applied.flat().filter((id) => id === 'accounts-1').length, 1, 'accounts-1 applied once by three nodes starting at once');
  const [a, b, c] = nodes as [PgDatabase, PgDatabase, PgDatabase];

  runAccountStoreContract(t, 'postgres', async () => {
    await empty(a);
    return {
      store: new PgAccountStore(a),
      stored: async () => (await Promise.all(TABLES.map(async (table) => JSON.stringify((await a.query(`SELECT * FROM ${table}`)).rows)))).join('\n'),
    };
  });

  t.test('a login on node A authenticates on node B at once; a logout on B is refused on A', async (t) => {
    await empty(a);
    const [onA, onB] = [accountsOn(a), accountsOn(b)];
    await onA.addUser('vera', 'viewer', 'vera-password');
    const login = await onA.login('vera', 'vera-password');
    t.ok(login);
    t.match((await onB.session(login!.sessionId))?.principal, { actor: 'vera', role: 'viewer', via: 'session', username: 'vera' }, 'node B knows the session');
    t.equal(await onB.login('vera', 'wrong-password'), null);
    await onB.logout(login!.sessionId);
    t.equal(await onA.session(login!.sessionId), null, "node A's next check refuses it");
  });

  t.test('a token made on A works on B; deleted on B, it is refused on A', async (t) => {
    await empty(a);
    const [onA, onB] = [accountsOn(a), accountsOn(b)];
    const user = await onA.addUser('olga', 'operator', 'olga-password');
    const created = await onA.store.createToken('ci', 'operator', { id: user.id, name: 'olga' });
    t.match(await onB.bearer(created!.token), { actor: 'token:ci', role: 'operator', via: 'api-token', userId: user.id });
    t.match(await onA.bearer('the-admin-token'), { actor: 'admin', role: 'admin', via: 'admin-token' });
    await onB.deleteToken(created!.record.id);
    t.equal(await onA.bearer(created!.token), null, "node A's next check refuses it");
  });

  t.test('a user deleted on A: their session and token are refused on B, and a demotion on the store caps the token on B', async (t) => {
    await empty(a);
    const [onA, onB] = [accountsOn(a), accountsOn(b)];
    const user = await onA.addUser('uma', 'admin', 'uma-password');
    const login = await onB.login('uma', 'uma-password');
    const created = await onB.store.createToken('t', 'admin', { id: user.id, name: 'uma' });
    await a.query("UPDATE users SET role = 'viewer' WHERE id = $1", [user.id]);
    t.equal((await onB.bearer(created!.token))?.role, 'viewer', 'a token never outranks its owner, read fresh on every node');
    await onA.deleteUser(user.id);
    t.equal(await onB.session(login!.sessionId), null);
    t.equal(await onB.bearer(created!.token), null);
    t.equal(await onB.login('uma', 'uma-password'), null);
  });

  t.test('revocation listeners hear local revocations and those another node reported', async (t) => {
    await empty(a);
    const [onA, onB] = [accountsOn(a), accountsOn(b)];
    const heardA: RevocationOrigin[] = [];
    const heardB: RevocationOrigin[] = [];
    onA.onRevoked((origin) => heardA.push(origin));
    onB.onRevoked((origin) => heardB.push(origin));
    await onA.addUser('ivy', 'viewer', 'ivy-password');
    const login = await onA.login('ivy', 'ivy-password');
    await onB.logout(login!.sessionId);
    // What the cluster bus does: B's local revocation is told to A.
    onA.revokedElsewhere();
    t.same(heardB, ['local']);
    t.same(heardA, ['elsewhere']);
  });

  t.test('one name added on three nodes at once: one user, two conflicts', async (t) => {
    await empty(a);
    const results = await Promise.allSettled(nodes.map((db) => accountsOn(db).addUser('carl', 'operator', 'carl-password')));
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as AccountError);
    t.same(
      refused.map((e) => [e instanceof AccountError, e.code, e.message]),
      [
        [true, 'conflict', 'user "carl" already exists'],
        [true, 'conflict', 'user "carl" already exists'],
      ],
    );
    t.equal(Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM users')).rows[0]!.n), 1);
  });

  t.test('three nodes starting at once with first-admin settings create exactly one admin', async (t) => {
    await empty(a);
    // Different names on purpose: a unique constraint alone would not stop three admins.
    // (The store-level race, without password hashing between the checks, is in the contract.)
    await Promise.all(nodes.map((db, i) => accountsOn(db).ensureFirstAdmin(`root${i}`, 'root-password')));
    const { rows } = await b.query<{ username: string; role: string }>('SELECT username, role FROM users');
    t.equal(rows.length, 1, 'one user');
    t.equal(rows[0]?.role, 'admin');
    // The same name on every node, as a shared configuration has it: starts succeed, one admin.
    await empty(a);
    await Promise.all(nodes.map((db) => accountsOn(db).ensureFirstAdmin('root', 'root-password')));
    t.same((await b.query('SELECT username, role FROM users')).rows, [{ username: 'root', role: 'admin' }]);
    const login = await accountsOn(c).login('root', 'root-password');
    t.equal(login?.user.username, 'root', 'the admin signs in on any node');
  });

  t.test('an unreachable server: checks reject with StorageUnavailableError, which the API answers 503', async (t) => {
    await empty(a);
    const onA = accountsOn(a);
    await onA.addUser('pat', 'viewer', 'pat-password');
    const login = await onA.login('pat', 'pat-password');
    await pg.server.kill();
    const err = await onA.session(login!.sessionId).catch((e: unknown) => e);
    t.equal((err as Error).name, 'StorageUnavailableError');
    t.same(toApiError(err), { status: 503, body: { error: 'storage_unavailable', code: 503, message: 'storage is unavailable, try again later' } });
    await t.rejects(onA.bearer('some-token'), { name: 'StorageUnavailableError' });
    await pg.server.restart();
    t.match((await onA.session(login!.sessionId))?.principal, { actor: 'pat' }, 'the session still works once the server is back');
  });
});
