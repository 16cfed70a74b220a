/**
 * The account store of one hub: users.db in the data dir. better-sqlite3 is
 * synchronous, so each method is one statement (or a read and a write with
 * nothing in between) and cannot interleave with another; the signatures are
 * async because the AccountStore interface is (PostgreSQL in a cluster).
 */
import Database from 'better-sqlite3';
import { TOKEN_USE_WRITE_EVERY_MS, UsernameTakenError, type AccountStore, type ApiTokenRecord, type SessionRecord, type UserRecord } from './account-store.js';
import { generateToken, hashToken } from './tokens.js';
import type { Role } from './roles.js';

export const ACCOUNTS_FILE = 'users.db';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
  id_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  -- null: created with the admin token
  owner_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
  owner TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER
);
`;

interface UserRow {
  id: number;
  username: string;
  role: string;
  password_hash: string;
  created_at: number;
}

interface TokenRow {
  id: string;
  name: string;
  role: string;
  owner_id: number | null;
  owner: string;
  created_at: number;
  last_used_at: number | null;
}

const toUser = (r: UserRow): UserRecord => ({ id: r.id, username: r.username, role: r.role as Role, passwordHash: r.password_hash, createdAt: r.created_at });
const toToken = (r: TokenRow): ApiTokenRecord => ({
  id: r.id,
  name: r.name,
  role: r.role as Role,
  ownerId: r.owner_id,
  owner: r.owner,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
});

const TOKEN_COLUMNS = 'id, name, role, owner_id, owner, created_at, last_used_at';

function isConstraint(err: unknown, code: string): boolean {
  return (err as { code?: string }).code === code;
}

export class SqliteAccountStore implements AccountStore {
  private db: Database.Database | null = null;

  constructor(private readonly file: string) {}

  private handle(): Database.Database {
    if (!this.db) throw new Error('SqliteAccountStore used before open()');
    return this.db;
  }

  async open(): Promise<void> {
    const db = new Database(this.file);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.exec(SCHEMA);
    this.db = db;
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = null;
  }

  async countUsers(): Promise<number> {
    return (this.handle().prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n;
  }

  async addUser(username: string, role: Role, passwordHash: string, now = Date.now()): Promise<UserRecord> {
    try {
      const info = this.handle().prepare('INSERT INTO users (username, role, password_hash, created_at) VALUES (?, ?, ?, ?)').run(username, role, passwordHash, now);
      return { id: Number(info.lastInsertRowid), username, role, passwordHash, createdAt: now };
    } catch (err) {
      if (isConstraint(err, 'SQLITE_CONSTRAINT_UNIQUE')) throw new UsernameTakenError(username);
      throw err;
    }
  }

  async addFirstUser(username: string, role: Role, passwordHash: string, now = Date.now()): Promise<UserRecord | null> {
    const info = this.handle()
      .prepare('INSERT INTO users (username, role, password_hash, created_at) SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM users)')
      .run(username, role, passwordHash, now);
    return info.changes === 1 ? { id: Number(info.lastInsertRowid), username, role, passwordHash, createdAt: now } : null;
  }

  async userByName(username: string): Promise<UserRecord | undefined> {
    const row = this.handle().prepare('SELECT * FROM users WHERE username = ?').get(username) as UserRow | undefined;
    return row && toUser(row);
  }

  async userById(id: number): Promise<UserRecord | undefined> {
    const row = this.handle().prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
    return row && toUser(row);
  }

  async users(): Promise<UserRecord[]> {
    return (this.handle().prepare('SELECT * FROM users ORDER BY username').all() as UserRow[]).map(toUser);
  }

  async deleteUser(id: number): Promise<boolean> {
    return this.handle().prepare('DELETE FROM users WHERE id = ?').run(id).changes === 1;
  }

  async createSession(userId: number, now = Date.now()): Promise<string | null> {
    const id = generateToken();
    try {
      this.handle().prepare('INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)').run(hashToken(id), userId, now, now);
    } catch (err) {
      // The user was deleted while their password was being checked.
      if (isConstraint(err, 'SQLITE_CONSTRAINT_FOREIGNKEY')) return null;
      throw err;
    }
    return id;
  }

  async session(id: string): Promise<SessionRecord | undefined> {
    const row = this.handle().prepare('SELECT user_id, created_at, last_seen_at FROM sessions WHERE id_hash = ?').get(hashToken(id)) as
      | { user_id: number; created_at: number; last_seen_at: number }
      | undefined;
    return row && { userId: row.user_id, createdAt: row.created_at, lastSeenAt: row.last_seen_at };
  }

  async touchSession(id: string, now: number): Promise<void> {
    this.handle().prepare('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ? AND last_seen_at < ?').run(now, hashToken(id), now);
  }

  async deleteSession(id: string): Promise<void> {
    this.handle().prepare('DELETE FROM sessions WHERE id_hash = ?').run(hashToken(id));
  }

  async pruneSessions(idleBefore: number, createdBefore: number): Promise<number> {
    return this.handle().prepare('DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?').run(idleBefore, createdBefore).changes;
  }

  async createToken(name: string, role: Role, owner: { id: number | null; name: string }, now = Date.now()): Promise<{ record: ApiTokenRecord; token: string } | null> {
    const token = generateToken();
    const id = `tok_${generateToken().slice(0, 16)}`;
    try {
      this.handle()
        .prepare('INSERT INTO api_tokens (id, name, token_hash, role, owner_id, owner, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(id, name, hashToken(token), role, owner.id, owner.name, now);
    } catch (err) {
      if (isConstraint(err, 'SQLITE_CONSTRAINT_FOREIGNKEY')) return null;
      throw err;
    }
    return { record: { id, name, role, ownerId: owner.id, owner: owner.name, createdAt: now, lastUsedAt: null }, token };
  }

  async useToken(token: string, now = Date.now()): Promise<ApiTokenRecord | undefined> {
    const row = this.handle().prepare(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?`).get(hashToken(token)) as TokenRow | undefined;
    if (!row) return undefined;
    if (row.last_used_at === null || now - row.last_used_at > TOKEN_USE_WRITE_EVERY_MS) this.handle().prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(now, row.id);
    return toToken(row);
  }

  async token(id: string): Promise<ApiTokenRecord | undefined> {
    const row = this.handle().prepare(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE id = ?`).get(id) as TokenRow | undefined;
    return row && toToken(row);
  }

  async tokens(ownerId?: number | null): Promise<ApiTokenRecord[]> {
    const db = this.handle();
    const rows =
      ownerId === undefined
        ? db.prepare(`SELECT ${TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, rowid`).all()
        : ownerId === null
          ? db.prepare(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE owner_id IS NULL ORDER BY created_at, rowid`).all()
          : db.prepare(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE owner_id = ? ORDER BY created_at, rowid`).all(ownerId);
    return (rows as TokenRow[]).map(toToken);
  }

  async deleteToken(id: string): Promise<boolean> {
    return this.handle().prepare('DELETE FROM api_tokens WHERE id = ?').run(id).changes === 1;
  }
}
