/**
 * Operator roles and what each may do. Roles are ordered: each can do
 * everything the one before it can ([G3]: a viewer can look,
 * not command).
 *
 *   viewer    reads devices, telemetry, commands, state, rules, alerts,
 *             silences, the audit log, metrics
 *   operator  also sends and cancels commands, changes desired state, and
 *             creates, changes and deletes alert rules, acknowledges alerts
 *             and silences them
 *   admin     also provisions, changes (name, room, labels) and deletes
 *             devices, rotates and revokes their tokens, manages users
 *             and everyone's API tokens, and notifiers
 */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** Who is calling: set on every authenticated API request and dashboard socket. */
export interface Principal {
  /** For the audit log: the username, `token:<name>` for an API token, `admin` for the admin token. */
  actor: string;
  role: Role;
  via: 'admin-token' | 'api-token' | 'session';
  /** The signed-in user, or the API token's owner; null for the admin token. */
  userId: number | null;
  username: string | null;
}

/** Routes any signed-in principal may call, whatever its role: about itself. */
const SELF = new Set(['GET /api/auth/me', 'POST /api/auth/logout', 'GET /api/tokens', 'POST /api/tokens', 'DELETE /api/tokens/:id']);

/** The state-changing routes an operator may call; every other one needs admin. */
const OPERATOR = new Set([
  'POST /api/devices/:id/commands',
  'POST /api/commands/:id/cancel',
  'PATCH /api/devices/:id/state/desired',
  'POST /api/rules',
  'PUT /api/rules/:id',
  'DELETE /api/rules/:id',
  'POST /api/alerts/:id/ack',
  'POST /api/silences',
  'DELETE /api/silences/:id',
]);

/** Reads that show other people's accounts, or where alerts are sent (webhook URLs): admin only. */
const ADMIN_READS = new Set(['GET /api/users', 'GET /api/notifiers', 'GET /api/notifiers/:id/dead-letters']);

/**
 * The role a route needs, by method and route pattern (`/api/devices/:id`).
 * Fails closed: a new state-changing route needs admin until it is listed.
 */
export function roleFor(method: string, route: string): Role | null {
  // Fastify answers HEAD with the GET handler (exposeHeadRoutes): it must need what GET needs.
  const key = `${method === 'HEAD' ? 'GET' : method} ${route}`;
  if (SELF.has(key)) return null;
  if (ADMIN_READS.has(key)) return 'admin';
  if (method === 'GET' || method === 'HEAD') return 'viewer';
  if (OPERATOR.has(key)) return 'operator';
  return 'admin';
}
