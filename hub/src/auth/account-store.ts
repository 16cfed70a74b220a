/**
 * Operator accounts, their login sessions and API tokens, in users.db.
 * Session ids and API tokens are 256-bit random values, so only their
 * SHA-256 is stored (as for device tokens): a copy of the file signs no one
 * in. Deleting a user deletes their sessions and tokens with them.
 */
import Database from 'better-sqlite3';
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

export interface UserRecord {
  id: number;
  username: string;
  role: Role;
  passwordHash: string;
  createdAt: number;
}

export interface SessionRecord {
  userId: number;
  createdAt: number;
  lastSeenAt: number;
}

export interface ApiTokenRecord {
  id: string;
  name: string;
  role: Role;
  ownerId: number | null;
  owner: string;
  createdAt: number;
  lastUsedAt: number | null;
}

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

export class AccountStore {
  private db: Database.Database | null = null;

  constructor(private readonly file: string) {}

  private handle(): Database.Database {
    if (!this.db) throw new Error('AccountStore used before open()');
    return this.db;
  }

  open(): void {
    const db = new Database(this.file);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.exec(SCHEMA);
    this.db = db;
  }

  close(): void {
    this.db?.close();
    this.db = null;
  }

  countUsers(): number {
    return (this.handle().prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n;
  }

  /** Throws `exists` when the username is taken. */
  addUser(username: string, role: Role, passwordHash: string, now = Date.now()): UserRecord {
    try {
      const info = this.handle().prepare('INSERT INTO users (username, role, password_hash, created_at) VALUES (?, ?, ?, ?)').run(username, role, passwordHash, now);
      return { id: Number(info.lastInsertRowid), username, role, passwordHash, createdAt: now };
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new Error('exists');
      throw err;
    }
  }

  userByName(username: string): UserRecord | undefined {
    const row = this.handle().prepare('SELECT * FROM users WHERE username = ?').get(username) as UserRow | undefined;
    return row && toUser(row);
  }

  userById(id: number): UserRecord | undefined {
    const row = this.handle().prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
    return row && toUser(row);
  }

  users(): UserRecord[] {
    return (this.handle().prepare('SELECT * FROM users ORDER BY username').all() as UserRow[]).map(toUser);
  }

  /** Also ends the user's sessions and API tokens. */
  deleteUser(id: number): boolean {
    return this.handle().prepare('DELETE FROM users WHERE id = ?').run(id).changes === 1;
  }

  /** A new session; the id is returned once, for the cookie. */
  createSession(userId: number, now = Date.now()): string {
    const id = generateToken();
    this.handle().prepare('INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)').run(hashToken(id), userId, now, now);
    return id;
  }

  session(id: string): SessionRecord | undefined {
    const row = this.handle().prepare('SELECT user_id, created_at, last_seen_at FROM sessions WHERE id_hash = ?').get(hashToken(id)) as
      | { user_id: number; created_at: number; last_seen_at: number }
      | undefined;
    return row && { userId: row.user_id, createdAt: row.created_at, lastSeenAt: row.last_seen_at };
  }

  touchSession(id: string, now: number): void {
    this.handle().prepare('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?').run(now, hashToken(id));
  }

  deleteSession(id: string): void {
    this.handle().prepare('DELETE FROM sessions WHERE id_hash = ?').run(hashToken(id));
  }

  /** Drops sessions idle since `idleBefore` or created before `createdBefore`. */
  pruneSessions(idleBefore: number, createdBefore: number): number {
    return this.handle().prepare('DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?').run(idleBefore, createdBefore).changes;
  }

  /** A new API token; the secret is returned once. */
  createToken(name: string, role: Role, owner: { id: number | null; name: string }, now = Date.now()): { record: ApiTokenRecord; token: string } {
    const token = generateToken();
    const id = `tok_${generateToken().slice(0, 16)}`;
    this.handle()
      .prepare('INSERT INTO api_tokens (id, name, token_hash, role, owner_id, owner, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(id, name, hashToken(token), role, owner.id, owner.name, now);
    return { record: { id, name, role, ownerId: owner.id, owner: owner.name, createdAt: now, lastUsedAt: null }, token };
  }

  /** The token a secret belongs to (looked up by its hash), and marks it used. */
  useToken(token: string, now = Date.now()): ApiTokenRecord | undefined {
    const hash = hashToken(token);
    const row = this.handle().prepare('SELECT id, name, role, owner_id, owner, created_at, last_used_at FROM api_tokens WHERE token_hash = ?').get(hash) as TokenRow | undefined;
    if (!row) return undefined;
    // Written at most once a minute: scripts polling the API should not each cost a disk write.
    if (row.last_used_at === null || now - row.last_used_at > 60_000) this.handle().prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(now, row.id);
    return toToken(row);
  }

  token(id: string): ApiTokenRecord | undefined {
    const row = this.handle().prepare('SELECT id, name, role, owner_id, owner, created_at, last_used_at FROM api_tokens WHERE id = ?').get(id) as TokenRow | undefined;
    return row && toToken(row);
  }

  /** Every token, or those of one owner (null: the admin token's). */
  tokens(ownerId?: number | null): ApiTokenRecord[] {
    const db = this.handle();
    const cols = 'id, name, role, owner_id, owner, created_at, last_used_at';
    const rows =
      ownerId === undefined
        ? db.prepare(`SELECT ${cols} FROM api_tokens ORDER BY created_at`).all()
        : ownerId === null
          ? db.prepare(`SELECT ${cols} FROM api_tokens WHERE owner_id IS NULL ORDER BY created_at`).all()
          : db.prepare(`SELECT ${cols} FROM api_tokens WHERE owner_id = ? ORDER BY created_at`).all(ownerId);
    return (rows as TokenRow[]).map(toToken);
  }

  deleteToken(id: string): boolean {
    return this.handle().prepare('DELETE FROM api_tokens WHERE id = ?').run(id).changes === 1;
  }
}
