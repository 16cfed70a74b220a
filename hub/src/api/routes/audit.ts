/** The audit log: newest first, filtered, paged with an opaque cursor. */
import { ProtocolError, type AuditListResponse } from '@iot-hub/protocol';
import type { FastifyInstance } from 'fastify';
import { AUDIT_ACTIONS, isAuditAction, type AuditFilter } from '../../audit/audit-log.js';
import type { ApiDeps } from '../api-deps.js';
import { strictQuery } from './strict-query.js';
import { parseTime } from './telemetry.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const PARAMS = ['deviceId', 'actor', 'action', 'from', 'to', 'limit', 'before'] as const;
type AuditQuerystring = Partial<Record<(typeof PARAMS)[number], string | string[]>>;

export function parseAuditQuery(query: Record<string, unknown>): AuditFilter {
  const q = strictQuery(query, PARAMS);
  const filter: AuditFilter = { limit: DEFAULT_LIMIT };
  if (q.deviceId !== undefined) filter.deviceId = q.deviceId;
  if (q.actor !== undefined) filter.actor = q.actor;
  if (q.action !== undefined) {
    if (!isAuditAction(q.action)) throw new ProtocolError('bad_request', `action must be one of ${AUDIT_ACTIONS.join(', ')}, got ${JSON.stringify(q.action)}`);
    filter.action = q.action;
  }
  if (q.from !== undefined) filter.from = parseTime(q.from, 'from');
  if (q.to !== undefined) filter.to = parseTime(q.to, 'to');
  if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to) {
    throw new ProtocolError('bad_request', `from (${filter.from}) is after to (${filter.to})`);
  }
  if (q.limit !== undefined) {
    if (!/^\d+$/.test(q.limit) || Number(q.limit) < 1 || Number(q.limit) > MAX_LIMIT) {
      throw new ProtocolError('bad_request', `limit must be an integer 1..${MAX_LIMIT}, got ${JSON.stringify(q.limit)}`);
    }
    filter.limit = Number(q.limit);
  }
  if (q.before !== undefined) filter.before = q.before;
  return filter;
}

export function auditRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: AuditQuerystring }>('/api/audit', async (request): Promise<AuditListResponse> => deps.audit.list(parseAuditQuery(request.query)));
}
