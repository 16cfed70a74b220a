/**
 * The account store of a cluster: users, login sessions and API tokens in
 * PostgreSQL (tables from account-migrations.ts), shared by every node, so a
 * login on one node authenticates the next request on any other and a
 * logout, deleted user or deleted token is refused everywhere at once.
 * Nothing is cached here (Accounts neither): each check is one or two
 * indexed reads. What an in-memory check did in SQLite is a constraint or a
 * conditional write here, as requests on different nodes interleave:
 *
 * - unique usernames: the UNIQUE constraint; the loser gets UsernameTakenError;
 * - the first admin: an exclusive transaction lock, taken shared by every
 *   other user insert, then "insert if there are no users";
 * - last-seen and last-used times: `UPDATE … WHERE older`, so nodes racing
 *   to record a use write once and never move a time back.
 *
 * The pool belongs to the caller, who runs the migrations (migrate()) first.
 */
import { TOKEN_USE_WRITE_EVERY_MS, UsernameTakenError, type AccountStore, type ApiTokenRecord, type SessionRecord, type UserRecord } from '../../auth/account-store.js';
import type { Role } from '../../auth/roles.js';
import { generateToken, hashToken } from '../../auth/tokens.js';
import type { PgDatabase } from '../pg/pg-database.js';

/** Advisory lock key serializing the first-admin check with user inserts (unique among the hub's locks). */
export const FIRST_USER_LOCK = 0x10_7_0a01;

const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

/** BIGINT columns arrive as strings from pg; every value here fits a double (ids, epoch ms). */
interface UserRow {
  id: string;
  username: string;
  role: string;
  password_hash: string;
  created_at: string;
}

interface TokenRow {
  id: string;
  name: string;
  role: string;
  owner_id: string | null;
  owner: string;
  created_at: string;
  last_used_at: string | null;
}

const USER_COLUMNS = 'id, username, role, password_hash, created_at';
const TOKEN_COLUMNS = 'id, name, role, owner_id, owner, created_at, last_used_at';

const toUser = (r: UserRow): UserRecord => ({ id: Number(r.id), username: r.username, role: r.role as Role, passwordHash: r.password_hash, createdAt: Number(r.created_at) });
const toToken = (r: TokenRow): ApiTokenRecord => ({
  id: r.id,
  name: r.name,
  role: r.role as Role,
  ownerId: r.owner_id === null ? null : Number(r.owner_id),
  owner: r.owner,
  createdAt: Number(r.created_at),
  lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
});

function violates(err: unknown, code: string): boolean {
  return (err as { code?: unknown }).code === code;
}

export class PgAccountStore implements AccountStore {
  constructor(private readonly db: PgDatabase) {}

  /** Nothing to open: the tables come from the migrations, the pool from the caller. */
  async open(): Promise<void> {}

  /** The pool is the caller's to close. */
  async close(): Promise<void> {}

  async countUsers(): Promise<number> {
    const { rows } = await this.db.query<{ n: string }>('SELECT count(*) AS n FROM users');
    return Number(rows[0]!.n);
  }

  async addUser(username: string, role: Role, passwordHash: string, now = Date.now()): Promise<UserRecord> {
    try {
      const id = await this.db.transaction(async (tx) => {
        // Shared: user inserts run side by side, but never while a first-admin check holds it exclusively.
        await tx.query('SELECT pg_advisory_xact_lock_shared($1)', [FIRST_USER_LOCK]);
        const { rows } = await tx.query<{ id: string }>('INSERT INTO users (username, role, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id', [
          username,
          role,
          passwordHash,
          now,
        ]);
        return Number(rows[0]!.id);
      });
      return { id, username, role, passwordHash, createdAt: now };
    } catch (err) {
      if (violates(err, UNIQUE_VIOLATION)) throw new UsernameTakenError(username);
      throw err;
    }
  }

  async addFirstUser(username: string, role: Role, passwordHash: string, now = Date.now()): Promise<UserRecord | null> {
    const id = await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [FIRST_USER_LOCK]);
      // READ COMMITTED: this statement's snapshot is taken after the lock, so it sees the user another node just committed.
      const { rows } = await tx.query<{ id: string }>(
        'INSERT INTO users (username, role, password_hash, created_at) SELECT $1::text, $2::text, $3::text, $4::bigint WHERE NOT EXISTS (SELECT 1 FROM users) RETURNING id',
        [username, role, passwordHash, now],
      );
      return rows[0] === undefined ? null : Number(rows[0].id);
    });
    return id === null ? null : { id, username, role, passwordHash, createdAt: now };
  }

  async userByName(username: string): Promise<UserRecord | undefined> {
    const { rows } = await this.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE username = $1`, [username]);
    return rows[0] && toUser(rows[0]);
  }

  async userById(id: number): Promise<UserRecord | undefined> {
    const { rows } = await this.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
    return rows[0] && toUser(rows[0]);
  }

  async users(): Promise<UserRecord[]> {
    // COLLATE "C": byte order, as SQLite's ORDER BY, whatever the database's locale.
    const { rows } = await this.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users ORDER BY username COLLATE "C"`);
    return rows.map(toUser);
  }

  async deleteUser(id: number): Promise<boolean> {
    return ((await this.db.query('DELETE FROM users WHERE id = $1', [id])).rowCount ?? 0) === 1;
  }

  async createSession(userId: number, now = Date.now()): Promise<string | null> {
    const id = generateToken();
    try {
      await this.db.query('INSERT INTO login_sessions (id_hash, user_id, created_at, last_seen_at) VALUES ($1, $2, $3, $3)', [hashToken(id), userId, now]);
    } catch (err) {
      // The user was deleted (on any node) while their password was being checked.
      if (violates(err, FOREIGN_KEY_VIOLATION)) return null;
      throw err;
    }
    return id;
  }

  async session(id: string): Promise<SessionRecord | undefined> {
    const { rows } = await this.db.query<{ user_id: string; created_at: string; last_seen_at: string }>(
      'SELECT user_id, created_at, last_seen_at FROM login_sessions WHERE id_hash = $1',
      [hashToken(id)],
    );
    const row = rows[0];
    return row && { userId: Number(row.user_id), createdAt: Number(row.created_at), lastSeenAt: Number(row.last_seen_at) };
  }

  async touchSession(id: string, now: number): Promise<void> {
    await this.db.query('UPDATE login_sessions SET last_seen_at = $2 WHERE id_hash = $1 AND last_seen_at < $2', [hashToken(id), now]);
  }

  async deleteSession(id: string): Promise<void> {
    await this.db.query('DELETE FROM login_sessions WHERE id_hash = $1', [hashToken(id)]);
  }

  async pruneSessions(idleBefore: number, createdBefore: number): Promise<number> {
    return (await this.db.query('DELETE FROM login_sessions WHERE last_seen_at < $1 OR created_at < $2', [idleBefore, createdBefore])).rowCount ?? 0;
  }

  async createToken(name: string, role: Role, owner: { id: number | null; name: string }, now = Date.now()): Promise<{ record: ApiTokenRecord; token: string } | null> {
    const token = generateToken();
    const id = `tok_${generateToken().slice(0, 16)}`;
    try {
      await this.db.query('INSERT INTO api_tokens (id, name, token_hash, role, owner_id, owner, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        id,
        name,
        hashToken(token),
        role,
        owner.id,
        owner.name,
        now,
      ]);
    } catch (err) {
      if (violates(err, FOREIGN_KEY_VIOLATION)) return null;
      throw err;
    }
    return { record: { id, name, role, ownerId: owner.id, owner: owner.name, createdAt: now, lastUsedAt: null }, token };
  }

  async useToken(token: string, now = Date.now()): Promise<ApiTokenRecord | undefined> {
    const { rows } = await this.db.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1`, [hashToken(token)]);
    const row = rows[0];
    if (!row) return undefined;
    const record = toToken(row);
    if (record.lastUsedAt === null || now - record.lastUsedAt > TOKEN_USE_WRITE_EVERY_MS) {
      // Conditional: of nodes seeing the same stale time, one writes; a later time is never moved back.
      await this.db.query('UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2 - $3::bigint)', [
        record.id,
        now,
        TOKEN_USE_WRITE_EVERY_MS,
      ]);
    }
    return record;
  }

  async token(id: string): Promise<ApiTokenRecord | undefined> {
    const { rows } = await this.db.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE id = $1`, [id]);
    return rows[0] && toToken(rows[0]);
  }

  async tokens(ownerId?: number | null): Promise<ApiTokenRecord[]> {
    const order = 'ORDER BY created_at, seq';
    const { rows } =
      ownerId === undefined
        ? await this.db.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens ${order}`)
        : ownerId === null
          ? await this.db.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE owner_id IS NULL ${order}`)
          : await this.db.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE owner_id = $1 ${order}`, [ownerId]);
    return rows.map(toToken);
  }

  async deleteToken(id: string): Promise<boolean> {
    return ((await this.db.query('DELETE FROM api_tokens WHERE id = $1', [id])).rowCount ?? 0) === 1;
  }
}
