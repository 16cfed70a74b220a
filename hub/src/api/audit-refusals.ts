/**
 * Refused control actions go to the audit log, each once, with the refusal's
 * error code as outcome (docs/api.md, "Audit log"). One hook sees every answer of
 * the audited routes, so no handler can forget a refusal path; handlers
 * record only what they did (outcome `ok`, or a command's final state).
 *
 * Recorded: requests that passed authentication and the role check and were
 * refused by the action itself (404, 409, 410, 422, 429, 5xx). Not recorded:
 * malformed requests (400, 413, 415: not an action), and callers without
 * the route's role (403 before the handler) — otherwise a viewer could fill
 * the bounded log and push real entries out of it.
 */
import type { AuditAction } from '@iot-hub/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditInput } from '../audit/audit-log.js';
import type { ApiDeps } from './api-deps.js';

type Deps = Pick<ApiDeps, 'audit' | 'commands' | 'state'>;
type Target = Omit<AuditInput, 'actor' | 'action' | 'outcome'>;

interface ControlRoute {
  action: AuditAction;
  /** The entry's device, command and details, as the handler records them on success. */
  target(request: FastifyRequest, deps: Deps): Target | Promise<Target>;
}

/** Not an action: the request never said what to do. */
const MALFORMED = new Set([400, 413, 415]);

const param = (request: FastifyRequest, name: string): string | null => {
  const value = (request.params as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : null;
};

/** Only the named fields of a body that passed validation: never a password, never unknown keys. */
function pick(request: FastifyRequest, names: readonly string[]): Record<string, unknown> {
  const body = request.body;
  const out: Record<string, unknown> = {};
  if (typeof body !== 'object' || body === null) return out;
  for (const name of names) if (Object.hasOwn(body, name)) out[name] = (body as Record<string, unknown>)[name];
  return out;
}

const bodyString = (request: FastifyRequest, name: string): string | null => {
  const value = pick(request, [name])[name];
  return typeof value === 'string' ? value : null;
};

/** By `METHOD route pattern`; the actions of audit-log.ts that the API performs. */
const CONTROL_ROUTES = new Map<string, ControlRoute>([
  ['POST /api/devices', { action: 'device.create', target: (r) => ({ deviceId: bodyString(r, 'id'), details: pick(r, ['kind', 'name', 'room', 'labels']) }) }],
  ['PATCH /api/devices/:id', { action: 'device.update', target: (r) => ({ deviceId: param(r, 'id'), details: pick(r, ['name', 'room', 'labels']) }) }],
  ['DELETE /api/devices/:id', { action: 'device.delete', target: (r) => ({ deviceId: param(r, 'id'), details: {} }) }],
  ['POST /api/devices/:id/token', { action: 'device.token.rotate', target: (r) => ({ deviceId: param(r, 'id'), details: {} }) }],
  ['POST /api/devices/:id/revoke', { action: 'device.token.revoke', target: (r) => ({ deviceId: param(r, 'id'), details: {} }) }],
  ['POST /api/devices/:id/probes', { action: 'device.probe', target: (r) => ({ deviceId: param(r, 'id'), details: pick(r, ['kind', 'id', 'name', 'params', 'expiresAt']) }) }],
  [
    'POST /api/devices/:id/commands',
    { action: 'command.create', target: (r) => ({ deviceId: param(r, 'id'), details: { params: {}, ...pick(r, ['name', 'params']) } }) },
  ],
  [
    'POST /api/commands/:id/cancel',
    {
      action: 'command.cancel',
      target: async (r, deps) => {
        const id = param(r, 'id');
        const command = id === null ? undefined : await deps.commands.get(id);
        return { deviceId: command?.deviceId ?? null, commandId: command ? command.id : null, details: command ? { name: command.name } : { id } };
      },
    },
  ],
  [
    'PATCH /api/devices/:id/state/desired',
    {
      action: 'state.desired',
      // The version the refused change met: what a version_conflict was against.
      target: async (r, deps) => ({ deviceId: param(r, 'id'), details: { ...pick(r, ['state', 'ifVersion']), version: (await deps.state.view(param(r, 'id') ?? '')).version } }),
    },
  ],
  ['POST /api/users', { action: 'user.create', target: (r) => ({ deviceId: null, details: pick(r, ['username', 'role']) }) }],
  ['DELETE /api/users/:username', { action: 'user.delete', target: (r) => ({ deviceId: null, details: { username: param(r, 'username') } }) }],
  ['POST /api/tokens', { action: 'token.create', target: (r) => ({ deviceId: null, details: pick(r, ['name', 'role']) }) }],
  ['DELETE /api/tokens/:id', { action: 'token.delete', target: (r) => ({ deviceId: null, details: { id: param(r, 'id') } }) }],
  ['DELETE /api/notifiers/:id', { action: 'notifier.delete', target: (r) => ({ deviceId: null, details: { id: param(r, 'id') } }) }],
]);

/** The catalog code of an error answer (`{"error": "<code>", ...}`), else `http_<status>`. */
function errorCode(payload: unknown, status: number): string {
  if (typeof payload === 'string') {
    try {
      const code = (JSON.parse(payload) as { error?: unknown }).error;
      if (typeof code === 'string' && /^[a-z_]{1,64}$/.test(code)) return code;
    } catch {
      // not JSON: fall through to the status
    }
  }
  return `http_${status}`;
}

export function registerRefusalAudit(app: FastifyInstance, deps: Deps): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const status = reply.statusCode;
    if (status < 400 || MALFORMED.has(status) || request.principal === null) return payload;
    const route = CONTROL_ROUTES.get(`${request.method} ${request.routeOptions.url ?? ''}`);
    if (route === undefined) return payload;
    try {
      await deps.audit.record({ actor: request.actor, action: route.action, ...(await route.target(request, deps)), outcome: errorCode(payload, status) });
    } catch (err) {
      // The refusal is already decided: a failing audit write must not change the answer.
      request.log.error({ err, action: route.action }, 'recording a refused action in the audit log failed');
    }
    return payload;
  });
}
