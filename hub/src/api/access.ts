/**
 * Who may call what, checked once for every /api/ route and /metrics before
 * the handler runs: authenticate (bearer token, else the session cookie),
 * refuse cookie-authenticated changes from another origin (CSRF), then check
 * the route's role (auth/roles.ts). Handlers only read request.principal.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Accounts } from '../auth/accounts.js';
import { bearerToken } from '../auth/admin-token.js';
import { SESSION_COOKIE, originAllowed, readCookie, type OriginPolicy } from '../auth/http-auth.js';
import { roleAtLeast, roleFor, type Principal } from '../auth/roles.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, for the audit log: a username, `token:<name>` or `admin` (the admin token). */
    actor: string;
    principal: Principal | null;
    /** The session id from the cookie, when the request was authenticated by it. */
    sessionId: string | null;
  }
}

/** Reached without authentication: logging in is how one gets it. */
const PUBLIC = new Set(['POST /api/auth/login']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AccessOptions {
  accounts: Accounts;
  origins: OriginPolicy;
}

function unauthorized(reply: FastifyReply, message: string): FastifyReply {
  void reply.header('www-authenticate', 'Bearer realm="iot-hub"');
  return reply.status(401).send({ error: 'unauthorized', code: 401, message });
}

function forbidden(reply: FastifyReply, message: string): FastifyReply {
  return reply.status(403).send({ error: 'forbidden', code: 403, message });
}

/** A state change sent with the session cookie must come from the hub's own pages (or an allowed origin). */
export function sameOriginProblem(request: FastifyRequest, origins: OriginPolicy): string | null {
  const origin = request.headers.origin;
  if (origin === undefined) return 'a request with the session cookie that changes something must carry an Origin header';
  if (!originAllowed(origin, request.headers.host, origins)) return `origin ${origin} may not send changes with the session cookie (see --allowed-origins)`;
  return null;
}

export function registerAccessControl(app: FastifyInstance, options: AccessOptions): void {
  const { accounts, origins } = options;
  app.decorateRequest('actor', '');
  app.decorateRequest('principal', null);
  app.decorateRequest('sessionId', null);

  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    // By the matched route too, so no spelling of a path reaches an API handler unchecked.
    const route = request.routeOptions.url;
    const guarded = (p: string | undefined): boolean => p !== undefined && (p.startsWith('/api/') || p === '/metrics');
    if (!guarded(path) && !guarded(route)) return;
    if (PUBLIC.has(`${request.method} ${route ?? path}`)) return;

    let principal: Principal | null = null;
    const header = request.headers.authorization;
    if (header !== undefined) {
      // A bad bearer token is refused even with a good cookie: the caller meant the token.
      const token = bearerToken(header);
      principal = token === null ? null : await accounts.bearer(token);
      if (principal === null) return unauthorized(reply, 'a valid token is required: Authorization: Bearer <token>');
    } else {
      const sessionId = readCookie(request.headers.cookie, SESSION_COOKIE);
      const session = sessionId === null ? null : await accounts.session(sessionId);
      if (session === null) {
        return unauthorized(reply, sessionId === null ? 'sign in (POST /api/auth/login) or send Authorization: Bearer <token>' : 'the session has expired: sign in again');
      }
      principal = session.principal;
      request.sessionId = sessionId;
      if (!SAFE_METHODS.has(request.method)) {
        const problem = sameOriginProblem(request, origins);
        if (problem !== null) return forbidden(reply, problem);
      }
    }

    const needed = roleFor(request.method, request.routeOptions.url ?? path);
    if (needed !== null && !roleAtLeast(principal.role, needed)) {
      return forbidden(reply, `${request.method} ${request.routeOptions.url ?? path} needs the ${needed} role (${principal.actor} is ${principal.role})`);
    }
    request.principal = principal;
    request.actor = principal.actor;
  });
}
