/**
 * Operator accounts (admin only, by the role table) and API tokens for
 * scripts (anyone signed in, for themselves). A token's secret is returned
 * once; only its hash is kept. A token's role is at most its creator's.
 */
import {
  ProtocolError,
  type ApiTokenListResponse,
  type ApiTokenView,
  type CreateApiTokenRequest,
  type CreatedApiToken,
  type CreateUserRequest,
  type UserListResponse,
  type UserView,
} from '@iot-hub/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiTokenRecord, UserRecord } from '../../auth/account-store.js';
import { AccountError, USERNAME_PATTERN } from '../../auth/accounts.js';
import { ROLES, roleAtLeast, type Principal } from '../../auth/roles.js';
import type { ApiDeps } from '../api-deps.js';

const createUserSchema = {
  body: {
    type: 'object',
    required: ['username', 'password', 'role'],
    additionalProperties: false,
    properties: {
      username: { type: 'string', pattern: USERNAME_PATTERN },
      password: { type: 'string', minLength: 8, maxLength: 1024 },
      role: { type: 'string', enum: ROLES },
    },
  },
} as const;

const createTokenSchema = {
  body: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: {
      name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' },
      role: { type: 'string', enum: ROLES },
    },
  },
} as const;

const userView = (u: UserRecord): UserView => ({ username: u.username, role: u.role, createdAt: u.createdAt });
const tokenView = (t: ApiTokenRecord): ApiTokenView => ({ id: t.id, name: t.name, role: t.role, owner: t.owner, createdAt: t.createdAt, lastUsedAt: t.lastUsedAt });

function asProtocolError(err: unknown): unknown {
  return err instanceof AccountError ? new ProtocolError(err.code, err.message) : err;
}

/** Admins see and delete every token; others only their own (the admin token's owner id is null). */
function mayManage(p: Principal, token: ApiTokenRecord): boolean {
  return p.role === 'admin' || (p.userId !== null && token.ownerId === p.userId);
}

export function userRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { accounts, audit } = deps;
  const store = accounts.store;
  const principal = (request: FastifyRequest): Principal => request.principal!;

  app.get('/api/users', async () => ({ users: (await store.users()).map(userView) }) satisfies UserListResponse);

  app.post<{ Body: CreateUserRequest }>('/api/users', { schema: createUserSchema }, async (request, reply) => {
    const { username, password, role } = request.body;
    let user: UserRecord;
    try {
      user = await accounts.addUser(username, role, password);
    } catch (err) {
      throw asProtocolError(err);
    }
    await audit.record({ actor: request.actor, action: 'user.create', deviceId: null, details: { username, role }, outcome: 'ok' });
    void reply.status(201).header('location', `/api/users/${encodeURIComponent(username)}`);
    return userView(user);
  });

  app.delete<{ Params: { username: string } }>('/api/users/:username', async (request, reply) => {
    const user = await store.userByName(request.params.username);
    if (!user) throw new ProtocolError('not_found', `no user ${JSON.stringify(request.params.username)}`);
    if (user.id === principal(request).userId && principal(request).via === 'session') {
      throw new ProtocolError('conflict', 'you cannot delete your own account while signed in to it');
    }
    await accounts.deleteUser(user.id);
    await audit.record({ actor: request.actor, action: 'user.delete', deviceId: null, details: { username: user.username, role: user.role }, outcome: 'ok' });
    return reply.status(204).send();
  });

  app.get<{ Querystring: { all?: string } }>('/api/tokens', async (request) => {
    const p = principal(request);
    // An admin sees every token with ?all=true; otherwise one's own.
    const tokens = p.role === 'admin' && request.query.all === 'true' ? await store.tokens() : await store.tokens(p.userId);
    return { tokens: tokens.map(tokenView) } satisfies ApiTokenListResponse;
  });

  app.post<{ Body: CreateApiTokenRequest }>('/api/tokens', { schema: createTokenSchema }, async (request, reply) => {
    const p = principal(request);
    const role = request.body.role ?? p.role;
    if (!roleAtLeast(p.role, role)) throw new ProtocolError('forbidden', `a token may have at most your role (${p.role}), not ${role}`);
    const created = await store.createToken(request.body.name, role, { id: p.userId, name: p.username ?? p.actor });
    // The caller's account was deleted (on another node, perhaps) since its request was authenticated.
    if (created === null) throw new ProtocolError('unauthorized', 'your account no longer exists');
    const { record, token } = created;
    await audit.record({ actor: request.actor, action: 'token.create', deviceId: null, details: { id: record.id, name: record.name, role }, outcome: 'ok' });
    void reply.status(201).header('cache-control', 'no-store');
    return { ...tokenView(record), token } satisfies CreatedApiToken;
  });

  app.delete<{ Params: { id: string } }>('/api/tokens/:id', async (request, reply) => {
    const token = await store.token(request.params.id);
    // Someone else's token reads as absent: its id says nothing about it.
    if (!token || !mayManage(principal(request), token)) throw new ProtocolError('not_found', `no token ${JSON.stringify(request.params.id)}`);
    await accounts.deleteToken(token.id);
    await audit.record({ actor: request.actor, action: 'token.delete', deviceId: null, details: { id: token.id, name: token.name, owner: token.owner }, outcome: 'ok' });
    return reply.status(204).send();
  });
}
