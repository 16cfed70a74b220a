/**
 * Where operator accounts, their login sessions and API tokens are kept:
 * users.db on one hub (sqlite-account-store.ts), PostgreSQL in a cluster
 * (cluster/auth/pg-account-store.ts). Both keep the same promises, proven by
 * one contract suite (test/security/account-store-contract.ts):
 *
 * - session ids and API tokens are 256-bit random values stored only as
 *   their SHA-256, so a copy of the store signs no one in;
 * - usernames are unique: of two adds of one name, one wins and the other
 *   throws UsernameTakenError, however they interleave;
 * - deleting a user deletes their sessions and tokens with it;
 * - last-seen and last-used times only move forward.
 */
import type { Role } from './roles.js';

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

/** The username is taken (perhaps a moment ago, by another node). */
export class UsernameTakenError extends Error {
  override readonly name = 'UsernameTakenError';
  constructor(readonly username: string) {
    super(`user ${JSON.stringify(username)} already exists`);
  }
}

/** last_used_at is written at most this often, so scripts polling the API do not each cost a write. */
export const TOKEN_USE_WRITE_EVERY_MS = 60_000;

/** Times are milliseconds since the epoch; `now` is a parameter so tests can move the clock. */
export interface AccountStore {
  open(): Promise<void>;
  close(): Promise<void>;

  countUsers(): Promise<number>;
  /** Throws UsernameTakenError when the username is taken. */
  addUser(username: string, role: Role, passwordHash: string, now?: number): Promise<UserRecord>;
  /**
   * Adds the user only while there are no users at all, atomically: of nodes
   * starting at once with the same first-admin setting, exactly one creates
   * it and the others get null.
   */
  addFirstUser(username: string, role: Role, passwordHash: string, now?: number): Promise<UserRecord | null>;
  userByName(username: string): Promise<UserRecord | undefined>;
  userById(id: number): Promise<UserRecord | undefined>;
  /** Every user, by username. */
  users(): Promise<UserRecord[]>;
  /** Also ends the user's sessions and API tokens; false when there was no such user. */
  deleteUser(id: number): Promise<boolean>;

  /** A new session; the id is returned once, for the cookie. Null when the user no longer exists. */
  createSession(userId: number, now?: number): Promise<string | null>;
  session(id: string): Promise<SessionRecord | undefined>;
  /** Moves last_seen_at forward to `now` (never back). */
  touchSession(id: string, now: number): Promise<void>;
  deleteSession(id: string): Promise<void>;
  /** Drops sessions idle since `idleBefore` or created before `createdBefore`; how many. */
  pruneSessions(idleBefore: number, createdBefore: number): Promise<number>;

  /** A new API token; the secret is returned once. Null when the owner user no longer exists. */
  createToken(name: string, role: Role, owner: { id: number | null; name: string }, now?: number): Promise<{ record: ApiTokenRecord; token: string } | null>;
  /** The token a secret belongs to (looked up by its hash); marks it used at most once per TOKEN_USE_WRITE_EVERY_MS. */
  useToken(token: string, now?: number): Promise<ApiTokenRecord | undefined>;
  token(id: string): Promise<ApiTokenRecord | undefined>;
  /** Every token, or those of one owner (null: the admin token's), oldest first. */
  tokens(ownerId?: number | null): Promise<ApiTokenRecord[]>;
  /** False when there was no such token. */
  deleteToken(id: string): Promise<boolean>;
}
