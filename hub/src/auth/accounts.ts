/**
 * Who is calling: the admin token (break-glass, role admin), an API token
 * (its role, never above its owner's current one) or a login session in the
 * cookie (the user's role). Sessions end after --session-idle-min without
 * use or --session-max-hours after login, whichever comes first.
 */
import type { Logger } from 'pino';
import { UsernameTakenError, type AccountStore, type UserRecord } from './account-store.js';
import type { AdminAuth } from './admin-token.js';
import { dummyHash, hashPassword, passwordProblem, verifyPassword } from './passwords.js';
import { ROLES, roleAtLeast, type Principal, type Role } from './roles.js';

/** Usernames appear in the audit log and in `token:<name>` actors: keep them plain. */
export const USERNAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$';
const USERNAME_RE = new RegExp(USERNAME_PATTERN);

/** last_seen_at is written at most this often, so reads do not each cost a disk write. */
const TOUCH_EVERY_MS = 60_000;

export interface AccountsOptions {
  /** users.db (SqliteAccountStore) on one hub, PostgreSQL in a cluster. */
  store: AccountStore;
  adminAuth: AdminAuth;
  sessionIdleMs: number;
  sessionMaxMs: number;
  log: Logger;
}

export interface Login {
  sessionId: string;
  user: UserRecord;
  expiresAt: number;
}

/** Where a revocation happened: here, or on another node of a cluster (told by the bus). */
export type RevocationOrigin = 'local' | 'elsewhere';

export class AccountError extends Error {
  constructor(
    readonly code: 'bad_request' | 'conflict' | 'not_found',
    message: string,
  ) {
    super(message);
  }
}

export class Accounts {
  readonly store: AccountStore;
  private readonly revokedListeners: Array<(origin: RevocationOrigin) => void> = [];

  constructor(private readonly options: AccountsOptions) {
    this.store = options.store;
  }

  async open(): Promise<void> {
    await this.store.open();
    await this.prune();
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  /** Deletes the sessions that have ended; how many. Expired sessions are refused anyway: this only frees their rows. */
  async prune(now = Date.now()): Promise<number> {
    return this.store.pruneSessions(now - this.options.sessionIdleMs, now - this.options.sessionMaxMs);
  }

  private async checkedHash(username: string, role: Role, password: string): Promise<string> {
    if (!USERNAME_RE.test(username)) throw new AccountError('bad_request', `username ${JSON.stringify(username)}: 1-64 of letters, digits and . _ @ -, starting with a letter or digit`);
    if (!ROLES.includes(role)) throw new AccountError('bad_request', `role must be one of ${ROLES.join(', ')}`);
    const problem = passwordProblem(password);
    if (problem !== null) throw new AccountError('bad_request', problem);
    return hashPassword(password);
  }

  async addUser(username: string, role: Role, password: string): Promise<UserRecord> {
    const hash = await this.checkedHash(username, role, password);
    try {
      return await this.store.addUser(username, role, hash);
    } catch (err) {
      if (err instanceof UsernameTakenError) throw new AccountError('conflict', err.message);
      throw err;
    }
  }

  /**
   * HUB_ADMIN_USER / HUB_ADMIN_PASSWORD: the first admin, only while there
   * are no users. Safe when several nodes start at once: one creates it.
   */
  async ensureFirstAdmin(username: string | null, password: string | null): Promise<void> {
    // Counted first so a restart does not pay for a password hash.
    if (username === null || password === null || (await this.store.countUsers()) > 0) return;
    const hash = await this.checkedHash(username, 'admin', password);
    if ((await this.store.addFirstUser(username, 'admin', hash)) === null) return;
    this.options.log.info({ user: username }, 'created the first admin user from the configuration');
  }

  /** Null for an unknown user or a wrong password, alike and in about the same time. */
  async login(username: string, password: string, now = Date.now()): Promise<Login | null> {
    const user = await this.store.userByName(username);
    const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyHash()));
    if (!user || !ok) return null;
    const sessionId = await this.store.createSession(user.id, now);
    if (sessionId === null) return null;
    return { sessionId, user, expiresAt: this.expiresAt(now, now) };
  }

  /**
   * Called after a session, user or token ends, so open sockets that used it
   * are checked again at once: `local` when it ended here (a cluster tells
   * the other nodes), `elsewhere` when another node said so (revokedElsewhere).
   */
  onRevoked(listener: (origin: RevocationOrigin) => void): void {
    this.revokedListeners.push(listener);
  }

  /** Another node ended a session, user or token: recheck what this node holds open. */
  revokedElsewhere(): void {
    this.revoked('elsewhere');
  }

  private revoked(origin: RevocationOrigin): void {
    for (const listener of this.revokedListeners) listener(origin);
  }

  async logout(sessionId: string): Promise<void> {
    await this.store.deleteSession(sessionId);
    this.revoked('local');
  }

  /** Also ends the user's sessions and API tokens. */
  async deleteUser(id: number): Promise<void> {
    await this.store.deleteUser(id);
    this.revoked('local');
  }

  async deleteToken(id: string): Promise<void> {
    await this.store.deleteToken(id);
    this.revoked('local');
  }

  private expiresAt(createdAt: number, lastSeenAt: number): number {
    return Math.min(lastSeenAt + this.options.sessionIdleMs, createdAt + this.options.sessionMaxMs);
  }

  get sessionMaxSec(): number {
    return Math.round(this.options.sessionMaxMs / 1000);
  }

  /**
   * The session's principal and when it ends, or null when unknown or
   * expired (then deleted). `touch` false: a check that is not a use (an
   * open socket), so it does not keep the session from idling out. Read
   * from the store every time, never cached: a login on one node works on
   * the next request to any other, and a logout ends it everywhere at once.
   */
  async session(sessionId: string, now = Date.now(), touch = true): Promise<{ principal: Principal; expiresAt: number } | null> {
    const session = await this.store.session(sessionId);
    if (!session) return null;
    if (this.expiresAt(session.createdAt, session.lastSeenAt) <= now) {
      await this.store.deleteSession(sessionId);
      return null;
    }
    const user = await this.store.userById(session.userId);
    if (!user) return null;
    const touched = touch && now - session.lastSeenAt >= TOUCH_EVERY_MS;
    if (touched) await this.store.touchSession(sessionId, now);
    const lastSeen = touched ? now : session.lastSeenAt;
    return {
      principal: { actor: user.username, role: user.role, via: 'session', userId: user.id, username: user.username },
      expiresAt: this.expiresAt(session.createdAt, lastSeen),
    };
  }

  /** A bearer token: the admin token, or an API token (read from the store every time, as sessions). */
  async bearer(token: string): Promise<Principal | null> {
    if (this.options.adminAuth.verify(token)) return { actor: 'admin', role: 'admin', via: 'admin-token', userId: null, username: null };
    const record = await this.store.useToken(token);
    if (!record) return null;
    let role = record.role;
    if (record.ownerId !== null) {
      // A token never outranks its owner, even after the owner was demoted.
      const owner = await this.store.userById(record.ownerId);
      if (!owner) return null;
      if (!roleAtLeast(owner.role, role)) role = owner.role;
    }
    return { actor: `token:${record.name}`, role, via: 'api-token', userId: record.ownerId, username: record.owner };
  }
}
