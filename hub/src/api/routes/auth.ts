/**
 * Login sessions: sign in with a username and password (the session id goes
 * in an HttpOnly, SameSite=Strict cookie), sign out, and who am I. Login
 * attempts are limited per IP (--login-rate) and per account name
 * (--login-account-failures, limits/account-lockout.ts).
 */
import { ProtocolError, type LoginRequest, type SessionView } from '@iot-hub/protocol';
import type { FastifyInstance } from 'fastify';
import { USERNAME_PATTERN } from '../../auth/accounts.js';
import { clearedSessionCookie, originAllowed, sessionCookie } from '../../auth/http-auth.js';
import type { ApiDeps } from '../api-deps.js';

const loginSchema = {
  body: {
    type: 'object',
    required: ['username', 'password'],
    additionalProperties: false,
    properties: {
      username: { type: 'string', pattern: USERNAME_PATTERN },
      password: { type: 'string', minLength: 1, maxLength: 1024 },
    },
  },
} as const;

export function authRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { accounts, loginLimiter, accountLockout, secureCookies, allowedOrigins } = deps;

  app.post<{ Body: LoginRequest }>('/api/auth/login', { schema: loginSchema }, async (request, reply) => {
    void reply.header('cache-control', 'no-store');
    // Login CSRF: a foreign page must not sign the browser in to an account of its choosing.
    const origin = request.headers.origin;
    if (origin !== undefined && !originAllowed(origin, request.headers.host, { allowed: allowedOrigins, secure: secureCookies })) {
      throw new ProtocolError('forbidden', `origin ${origin} may not sign in (see --allowed-origins)`);
    }
    if (!loginLimiter.allow(request.ip)) {
      void reply.header('retry-after', String(loginLimiter.retryAfterSec()));
      // Answered directly: the catalog's rate_limited text speaks of device messages.
      return reply.status(429).send({ error: 'rate_limited', code: 429, message: 'too many login attempts from this address: wait a minute' });
    }
    const { username } = request.body;
    const wait = accountLockout.retryAfterSec(username, request.ip);
    if (wait > 0) {
      // Refused before the password is checked: a locked name gives a guesser nothing, known or not.
      request.log.warn({ remote: request.ip, user: username, retryAfterSec: wait }, 'login refused: the account name is locked after failed logins');
      void reply.header('retry-after', String(wait));
      return reply.status(429).send({ error: 'rate_limited', code: 429, message: `too many failed logins to this account: try again in ${wait} s` });
    }
    const login = await accounts.login(username, request.body.password);
    if (login === null) {
      accountLockout.failed(username);
      loginLimiter.counters.failed += 1;
      request.log.warn({ remote: request.ip, user: request.body.username }, 'login failed');
      // The same answer for an unknown user: which names exist is not told.
      return reply.status(401).send({ error: 'unauthorized', code: 401, message: 'wrong username or password' });
    }
    accountLockout.succeeded(username, request.ip);
    loginLimiter.counters.ok += 1;
    void reply.header('set-cookie', sessionCookie(login.sessionId, accounts.sessionMaxSec, secureCookies));
    return { user: login.user.username, role: login.user.role, via: 'session', expiresAt: login.expiresAt } satisfies SessionView;
  });

  app.post('/api/auth/logout', async (request, reply) => {
    if (request.sessionId !== null) await accounts.logout(request.sessionId);
    void reply.header('set-cookie', clearedSessionCookie(secureCookies));
    return reply.status(204).send();
  });

  app.get('/api/auth/me', async (request, reply) => {
    void reply.header('cache-control', 'no-store');
    const p = request.principal!;
    const expiresAt = request.sessionId === null ? null : ((await accounts.session(request.sessionId))?.expiresAt ?? null);
    return { user: p.actor, role: p.role, via: p.via, expiresAt } satisfies SessionView;
  });
}
