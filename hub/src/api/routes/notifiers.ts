/**
 * Notifiers (admin only, by the role table: GET lists URLs of receivers
 * and is admin too): webhooks alert notifications go to. A notifier's signing
 * secret is answered once, at creation, and never again; its delivery counts
 * and last error show what failed, and its dead letters what was given up.
 */
import {
  ALERT_SEVERITIES,
  DEAD_LETTERS_KEPT,
  ProtocolError,
  type DeadLetterListResponse,
  type NotifierCreateResponse,
  type NotifierInput,
  type NotifierListResponse,
  type NotifierTestResponse,
} from '@iot-hub/protocol';
import type { FastifyInstance } from 'fastify';
import type { NotifyService } from '../../alerts/notify/notify-service.js';
import { MAX_URL_LENGTH } from '../../alerts/notify/webhook-url.js';
import type { ApiDeps } from '../api-deps.js';

const createSchema = {
  body: {
    type: 'object',
    required: ['type', 'name', 'url'],
    additionalProperties: false,
    properties: {
      type: { type: 'string', enum: ['webhook'] },
      name: { type: 'string', minLength: 1, maxLength: 100 },
      url: { type: 'string', minLength: 1, maxLength: MAX_URL_LENGTH },
      // Long enough to resist guessing; the hub generates 32 random bytes when it is not given.
      secret: { type: 'string', minLength: 16, maxLength: 256 },
      minSeverity: { type: 'string', enum: ALERT_SEVERITIES },
    },
  },
} as const;

const deadLettersSchema = {
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: { limit: { type: 'string', pattern: '^[0-9]{1,4}$' } },
  },
} as const;

/** In cluster mode notifications are off for now: the routes exist (the role table covers them) and say so. */
function service(deps: ApiDeps): NotifyService {
  if (!deps.notify) throw new ProtocolError('bad_request', 'notifications are not available in cluster mode yet');
  return deps.notify;
}

export function notifierRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { audit } = deps;

  app.get('/api/notifiers', async () => ({ notifiers: deps.notify ? await deps.notify.list() : [] }) satisfies NotifierListResponse);

  app.post<{ Body: NotifierInput }>('/api/notifiers', { schema: createSchema }, async (request, reply) => {
    const created = await service(deps).create(request.body);
    // The URL is recorded without its path: a path can hold a token (Slack-style hooks).
    await audit.record({
      actor: request.actor,
      action: 'notifier.create',
      deviceId: null,
      details: { id: created.id, name: created.name, origin: new URL(created.url).origin, minSeverity: created.minSeverity },
      outcome: 'ok',
    });
    void reply.status(201).header('cache-control', 'no-store').header('location', `/api/notifiers/${created.id}`);
    return created satisfies NotifierCreateResponse;
  });

  app.delete<{ Params: { id: string } }>('/api/notifiers/:id', async (request, reply) => {
    const removed = await service(deps).remove(request.params.id);
    if (!removed) throw new ProtocolError('not_found', `no notifier ${JSON.stringify(request.params.id)}`);
    await audit.record({ actor: request.actor, action: 'notifier.delete', deviceId: null, details: { id: removed.id, name: removed.name }, outcome: 'ok' });
    return reply.status(204).send();
  });

  app.get<{ Params: { id: string }; Querystring: { limit?: string } }>('/api/notifiers/:id/dead-letters', { schema: deadLettersSchema }, async (request) => {
    const limit = Math.min(Number(request.query.limit ?? 100), DEAD_LETTERS_KEPT);
    return { deadLetters: await service(deps).deadLetters(request.params.id, limit) } satisfies DeadLetterListResponse;
  });

  app.post<{ Params: { id: string } }>('/api/notifiers/:id/test', async (request) => (await service(deps).test(request.params.id)) satisfies NotifierTestResponse);
}
