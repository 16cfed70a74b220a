/**
 * The cluster's account tables: the same columns as users.db
 * (auth/sqlite-account-store.ts), times in epoch milliseconds. Session ids
 * and API tokens are kept only as their SHA-256, passwords as scrypt hashes.
 */
import type { Migration } from '../pg/migrations.js';

export const ACCOUNT_MIGRATIONS: readonly Migration[] = [
  {
    id: 'accounts-1',
    sql: `
CREATE TABLE users (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  password_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE login_sessions (
  id_hash TEXT PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL
);
CREATE INDEX login_sessions_user ON login_sessions (user_id);
CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY,
  -- Insertion order, for listing tokens created in the same millisecond as SQLite does.
  seq BIGINT GENERATED ALWAYS AS IDENTITY,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  -- null: created with the admin token
  owner_id BIGINT REFERENCES users(id) ON DELETE CASCADE,
  owner TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT
);
CREATE INDEX api_tokens_owner ON api_tokens (owner_id);
`,
  },
];
