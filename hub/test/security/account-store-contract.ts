/**
 * The contract every AccountStore keeps (auth/account-store.ts): users.db
 * and PostgreSQL run the same suite. Each factory returns a fresh, empty
 * store and `stored()`, every value the store holds as text, to prove
 * secrets are kept only as hashes.
 */
import type { Test } from 'tap';
import { UsernameTakenError, type AccountStore } from '../../src/auth/account-store.js';
import { hashToken } from '../../src/auth/tokens.js';

export interface StoreUnderTest {
  store: AccountStore;
  /** Every stored value of every account table, as text. */
  stored(): Promise<string>;
}

export type AccountStoreFactory = (t: Test) => Promise<StoreUnderTest>;

const T0 = 1_700_000_000_000;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export function runAccountStoreContract(t: Test, name: string, open: AccountStoreFactory): void {
  t.test(`${name}: users are added, found and listed; a taken name throws UsernameTakenError`, async (t) => {
    const { store } = await open(t);
    t.equal(await store.countUsers(), 0);
    const bob = await store.addUser('bob', 'operator', 'hash-b', T0);
    const alice = await store.addUser('alice', 'admin', 'hash-a', T0 + 1);
    // Byte order, as SQLite sorts: capitals first; names differing in case are different users.
    const upper = await store.addUser('Alice', 'viewer', 'hash-A', T0 + 2);
    t.same(bob, { id: bob.id, username: 'bob', role: 'operator', passwordHash: 'hash-b', createdAt: T0 });
    t.not(alice.id, bob.id, 'ids are distinct');
    t.same(await store.userByName('alice'), alice);
    t.same(await store.userById(bob.id), bob);
    t.equal(await store.userByName('nobody'), undefined);
    t.equal(await store.userById(999_999), undefined);
    t.same((await store.users()).map((u) => u.username), ['Alice', 'alice', 'bob']);
    t.equal(await store.countUsers(), 3);
    const taken = await store.addUser('alice', 'viewer', 'other', T0).catch((err: unknown) => err);
    t.ok(taken instanceof UsernameTakenError, 'a second alice is refused');
    t.equal((taken as Error).message, 'user "alice" already exists');
    t.same(await store.userByName('alice'), alice, 'the first alice is unchanged');
    t.same(await store.userById(upper.id), upper);
  });

  t.test(`${name}: of adds of one name at once, exactly one wins`, async (t) => {
    const { store } = await open(t);
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => store.addUser('carol', 'viewer', `hash-${i}`, T0)));
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one add succeeded');
    const refused = results.filter((r) => r.status === 'rejected');
    t.equal(refused.length, 4);
    t.ok(refused.every((r) => r.reason instanceof UsernameTakenError), 'the others were told the name is taken');
    t.equal(await store.countUsers(), 1);
  });

  t.test(`${name}: addFirstUser adds only into an empty store, once even when called at once`, async (t) => {
    const { store } = await open(t);
    const results = await Promise.all(['ann', 'ben', 'cid'].map((u) => store.addFirstUser(u, 'admin', `hash-${u}`, T0)));
    const made = results.filter((r) => r !== null);
    t.equal(made.length, 1, 'one first user');
    t.same((await store.users()).map((u) => [u.username, u.role]), [[made[0]!.username, 'admin']]);
    t.equal(await store.addFirstUser('dan', 'admin', 'hash-dan', T0), null, 'not once a user exists');
    t.equal(await store.countUsers(), 1);
  });

  t.test(`${name}: sessions are created, read, touched forward only, deleted and pruned`, async (t) => {
    const { store } = await open(t);
    const user = await store.addUser('vera', 'viewer', 'hash', T0);
    const id = await store.createSession(user.id, T0);
    t.match(id, TOKEN_SHAPE, '256 random bits, base64url');
    t.same(await store.session(id!), { userId: user.id, createdAt: T0, lastSeenAt: T0 });
    t.equal(await store.session('not-a-session'), undefined);
    await store.touchSession(id!, T0 + 90_000);
    t.same(await store.session(id!), { userId: user.id, createdAt: T0, lastSeenAt: T0 + 90_000 });
    await store.touchSession(id!, T0 + 30_000);
    t.equal((await store.session(id!))?.lastSeenAt, T0 + 90_000, 'a late touch from another node does not move it back');

    const old = await store.createSession(user.id, T0 - 10_000);
    const idle = await store.createSession(user.id, T0 + 10_000);
    const fresh = await store.createSession(user.id, T0 + 100_000);
    // Idle before T0 + 50 s, or created before T0 - 5 s: `old` by age, `idle` by idleness.
    t.equal(await store.pruneSessions(T0 + 50_000, T0 - 5_000), 2);
    t.equal(await store.session(old!), undefined);
    t.equal(await store.session(idle!), undefined);
    t.ok(await store.session(fresh!));
    t.ok(await store.session(id!));
    await store.deleteSession(id!);
    t.equal(await store.session(id!), undefined);
    await store.deleteSession(id!);
    t.equal(await store.createSession(999_999, T0), null, 'no session for a user that does not exist');
  });

  t.test(`${name}: API tokens are found by their secret, listed by owner, and marked used at most once a minute`, async (t) => {
    const { store } = await open(t);
    const owner = await store.addUser('olga', 'operator', 'hash', T0);
    const a = await store.createToken('ci', 'viewer', { id: owner.id, name: 'olga' }, T0);
    const b = await store.createToken('deploy', 'operator', { id: owner.id, name: 'olga' }, T0);
    await store.createToken('break-glass', 'admin', { id: null, name: 'admin' }, T0 - 1);
    t.match(a!.token, TOKEN_SHAPE);
    t.match(a!.record.id, /^tok_[A-Za-z0-9_-]{16}$/);
    t.same(a!.record, { id: a!.record.id, name: 'ci', role: 'viewer', ownerId: owner.id, owner: 'olga', createdAt: T0, lastUsedAt: null });
    t.same(await store.token(a!.record.id), a!.record);
    t.equal(await store.token('tok_nope'), undefined);
    t.same((await store.tokens()).map((r) => r.name), ['break-glass', 'ci', 'deploy'], 'oldest first, then in creation order');
    t.same((await store.tokens(owner.id)).map((r) => r.name), ['ci', 'deploy']);
    t.same((await store.tokens(null)).map((r) => r.name), ['break-glass']);
    t.same(await store.tokens(999_999), []);

    t.equal(await store.useToken('wrong-secret', T0), undefined);
    t.same(await store.useToken(a!.token, T0 + 1_000), a!.record, 'the record as it was before this use');
    t.equal((await store.token(a!.record.id))?.lastUsedAt, T0 + 1_000);
    t.equal((await store.useToken(a!.token, T0 + 31_000))?.lastUsedAt, T0 + 1_000);
    t.equal((await store.token(a!.record.id))?.lastUsedAt, T0 + 1_000, 'not written again within a minute');
    await store.useToken(a!.token, T0 + 61_001);
    t.equal((await store.token(a!.record.id))?.lastUsedAt, T0 + 61_001, 'written again after a minute');
    t.equal((await store.token(b!.record.id))?.lastUsedAt, null, 'the other token is untouched');

    t.equal(await store.deleteToken(a!.record.id), true);
    t.equal(await store.deleteToken(a!.record.id), false);
    t.equal(await store.useToken(a!.token, T0), undefined, 'a deleted token is refused');
    t.equal(await store.createToken('orphan', 'viewer', { id: 999_999, name: 'ghost' }, T0), null, 'no token for an owner that does not exist');
  });

  t.test(`${name}: deleting a user ends their sessions and tokens, not the admin token's`, async (t) => {
    const { store } = await open(t);
    const user = await store.addUser('uma', 'admin', 'hash', T0);
    const other = await store.addUser('ugo', 'viewer', 'hash', T0);
    const session = await store.createSession(user.id, T0);
    const otherSession = await store.createSession(other.id, T0);
    const token = await store.createToken('t', 'admin', { id: user.id, name: 'uma' }, T0);
    const adminTokens = await store.createToken('a', 'admin', { id: null, name: 'admin' }, T0);
    t.equal(await store.deleteUser(user.id), true);
    t.equal(await store.deleteUser(user.id), false);
    t.equal(await store.userById(user.id), undefined);
    t.equal(await store.session(session!), undefined);
    t.equal(await store.useToken(token!.token, T0), undefined);
    t.ok(await store.session(otherSession!), "another user's session stays");
    t.ok(await store.useToken(adminTokens!.token, T0), 'a token made with the admin token stays');
  });

  t.test(`${name}: session ids and token secrets are stored only as their SHA-256`, async (t) => {
    const { store, stored } = await open(t);
    const user = await store.addUser('sam', 'viewer', 'scrypt$32768$8$1$salt$key', T0);
    const session = await store.createSession(user.id, T0);
    const token = await store.createToken('t', 'viewer', { id: user.id, name: 'sam' }, T0);
    const text = await stored();
    t.notOk(text.includes(session!), 'no session id');
    t.notOk(text.includes(token!.token), 'no token secret');
    t.ok(text.includes(hashToken(session!)), "the session id's hash");
    t.ok(text.includes(hashToken(token!.token)), "the token's hash");
    t.ok(text.includes('scrypt$32768$8$1$salt$key'), 'the password hash as given');
  });
}
