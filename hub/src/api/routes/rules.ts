/**
 * Alert rules: list, read, create, replace (with ifVersion) and delete.
 * Alerting checks the rule (400 naming the field, 422 against what devices
 * declare, warnings in the answer); these routes record who did it.
 */
import { ProtocolError, type AlertRule, type RuleListResponse, type RuleWriteResponse } from '@iot-hub/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditInput } from '../../audit/audit-log.js';
import type { Alerting } from '../../alerts/alerting.js';
import type { ApiDeps } from '../api-deps.js';

/** The change is already durable: a failing audit write is logged, not turned into an error a client would retry. */
export async function recordAudit(deps: ApiDeps, request: FastifyRequest, input: Omit<AuditInput, 'actor'>): Promise<void> {
  try {
    await deps.audit.record({ actor: request.actor, ...input });
  } catch (err) {
    request.log.error({ err, action: input.action }, 'writing the audit entry failed');
  }
}

/** Checked field by field in rule-checks.ts, so refusals name the field; here only "a JSON object". */
const ruleBody = { body: { type: 'object' } } as const;

export function ruleRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const need = (): Alerting => {
    if (!deps.alerting) throw new ProtocolError('not_found', 'alerting is off on this hub (cluster mode)');
    return deps.alerting;
  };
  const scopeDevice = (rule: AlertRule): string | null => (rule.scope.type === 'device' ? rule.scope.deviceId : null);

  app.get('/api/rules', async (): Promise<RuleListResponse> => need().listRules());

  app.get<{ Params: { id: string } }>('/api/rules/:id', async (request): Promise<AlertRule> => need().getRule(request.params.id));

  app.post<{ Body: unknown }>('/api/rules', { schema: ruleBody }, async (request, reply): Promise<RuleWriteResponse> => {
    const created = await need().createRule(request.body);
    await recordAudit(deps, request, { action: 'rule.create', deviceId: scopeDevice(created.rule), details: { ruleId: created.rule.id, name: created.rule.name } });
    void reply.status(201).header('location', `/api/rules/${encodeURIComponent(created.rule.id)}`);
    return created;
  });

  app.put<{ Params: { id: string }; Body: unknown }>('/api/rules/:id', { schema: ruleBody }, async (request): Promise<RuleWriteResponse> => {
    const { before, response } = await need().replaceRule(request.params.id, request.body);
    const details: Record<string, unknown> = { ruleId: response.rule.id, name: response.rule.name, version: response.rule.version };
    if (before.enabled !== response.rule.enabled) details.enabled = response.rule.enabled;
    await recordAudit(deps, request, { action: 'rule.update', deviceId: scopeDevice(response.rule), details });
    return response;
  });

  app.delete<{ Params: { id: string } }>('/api/rules/:id', async (request, reply) => {
    const rule = await need().deleteRule(request.params.id);
    await recordAudit(deps, request, { action: 'rule.delete', deviceId: scopeDevice(rule), details: { ruleId: rule.id, name: rule.name } });
    return reply.status(204).send();
  });
}
