/** Silences: list the active ones, create one (at least one matcher, until at most 30 days ahead), delete one. */
import { LABEL_PATTERN, ProtocolError, ROOM_MAX_LENGTH, ROOM_PATTERN, SILENCE_MAX_SEC, type SilenceInput, type SilenceListResponse, type SilenceView } from '@iot-hub/protocol';
import type { FastifyInstance } from 'fastify';
import type { Alerting } from '../../alerts/alerting.js';
import type { ApiDeps } from '../api-deps.js';
import { recordAudit } from './rules.js';

const matcher = { type: 'string', minLength: 1, maxLength: 128 } as const;
const createSchema = {
  body: {
    type: 'object',
    required: ['until'],
    additionalProperties: false,
    properties: {
      ruleId: matcher,
      deviceId: matcher,
      label: { type: 'string', pattern: LABEL_PATTERN },
      room: { type: 'string', maxLength: ROOM_MAX_LENGTH, pattern: ROOM_PATTERN },
      until: { type: 'integer', minimum: 0, description: `epoch ms, at most ${SILENCE_MAX_SEC} s ahead` },
      note: { type: 'string', maxLength: 1000 },
    },
  },
} as const;

export function silenceRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const need = (): Alerting => {
    if (!deps.alerting) throw new ProtocolError('not_found', 'alerting is off on this hub (cluster mode)');
    return deps.alerting;
  };

  app.get('/api/silences', async (): Promise<SilenceListResponse> => ({ silences: need().listSilences() }));

  app.post<{ Body: SilenceInput }>('/api/silences', { schema: createSchema }, async (request, reply): Promise<SilenceView> => {
    const silence = await need().createSilence(request.body, request.actor);
    await recordAudit(deps, request, { action: 'silence.create', deviceId: silence.deviceId ?? null, details: { ...silence } });
    void reply.status(201).header('location', `/api/silences/${encodeURIComponent(silence.id)}`);
    return silence;
  });

  app.delete<{ Params: { id: string } }>('/api/silences/:id', async (request, reply) => {
    const silence = await need().deleteSilence(request.params.id);
    await recordAudit(deps, request, { action: 'silence.delete', deviceId: silence.deviceId ?? null, details: { silenceId: silence.id } });
    return reply.status(204).send();
  });
}
