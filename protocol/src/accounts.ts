/** Operator accounts, sessions and API tokens on the HTTP API (docs/security.md). */

export type OperatorRole = 'viewer' | 'operator' | 'admin';

/** POST /api/auth/login */
export interface LoginRequest {
  username: string;
  password: string;
}

/** POST /api/auth/login (with the session cookie) and GET /api/auth/me. */
export interface SessionView {
  /** The username; `admin` for the admin token, `token:<name>` for an API token. */
  user: string;
  role: OperatorRole;
  /** How this request was authenticated. */
  via: 'session' | 'api-token' | 'admin-token';
  /** When the session ends unless used again (ms since epoch); null for tokens. */
  expiresAt: number | null;
}

export interface UserView {
  username: string;
  role: OperatorRole;
  createdAt: number;
}

/** POST /api/users */
export interface CreateUserRequest {
  username: string;
  password: string;
  role: OperatorRole;
}

export interface UserListResponse {
  users: UserView[];
}

export interface ApiTokenView {
  id: string;
  name: string;
  role: OperatorRole;
  /** Who created it: a username, or `admin` for the admin token. */
  owner: string;
  createdAt: number;
  lastUsedAt: number | null;
}

/** POST /api/tokens */
export interface CreateApiTokenRequest {
  name: string;
  /** At most the creator's role; the creator's role when absent. */
  role?: OperatorRole;
}

/** The token itself is shown only in this response. */
export interface CreatedApiToken extends ApiTokenView {
  token: string;
}

export interface ApiTokenListResponse {
  tokens: ApiTokenView[];
}
