/** Alerts: the open ones (or recently resolved), one by id, acknowledging, and the history of transitions. */
import { ProtocolError, type AcknowledgeRequest, type AlertHistoryResponse, type AlertListResponse, type AlertView } from '@iot-hub/protocol';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../api-deps.js';
import { encodeHistoryCursor, parseAlertQuery, parseHistoryQuery } from './alert-queries.js';
import { recordAudit } from './rules.js';

const ackSchema = {
  body: {
    anyOf: [
      { type: 'object', additionalProperties: false, properties: { note: { type: 'string', maxLength: 1000 } } },
      { type: 'null' },
    ],
  },
} as const;

export function alertRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const alerting = deps.alerting;
  const off = (): never => {
    throw new ProtocolError('not_found', 'alerting is off on this hub (cluster mode)');
  };

  app.get<{ Querystring: Record<string, string | string[]> }>('/api/alerts', async (request): Promise<AlertListResponse> => {
    const filter = parseAlertQuery(request.query);
    return { alerts: alerting ? await alerting.listAlerts(filter) : off() };
  });

  app.get<{ Querystring: Record<string, string | string[]> }>('/api/alerts/history', async (request): Promise<AlertHistoryResponse> => {
    const filter = parseHistoryQuery(request.query);
    const entries = alerting ? await alerting.history(filter) : off();
    const last = entries.at(-1);
    return { entries, next: entries.length === filter.limit && last ? encodeHistoryCursor(last.id) : null };
  });

  app.post<{ Params: { id: string }; Body: AcknowledgeRequest | null }>('/api/alerts/:id/ack', { schema: ackSchema }, async (request): Promise<AlertView> => {
    if (!alerting) return off();
    const alert = await alerting.acknowledge(request.params.id, request.actor, request.body?.note ?? '');
    await recordAudit(deps, request, { action: 'alert.ack', deviceId: alert.deviceId, details: { alertId: alert.id, ruleId: alert.ruleId, note: alert.acknowledged?.note ?? '' } });
    return alert;
  });
}
