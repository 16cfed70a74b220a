/**
 * Command resources: issue a command to a device, read one, list a device's,
 * cancel one. The command service checks, stores and delivers; these routes
 * validate the HTTP shape and record who did it in the audit log.
 */
import { ProtocolError, type CommandListResponse, type CommandRequest, type CommandView } from '@iot-hub/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditInput } from '../../audit/audit-log.js';
import type { ApiDeps } from '../api-deps.js';

const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;

const createSchema = {
  body: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: {
      // Any name reaches the service, which answers an undeclared one with the declared list (422).
      name: { type: 'string', minLength: 1, maxLength: 64 },
      params: { type: 'object' },
      timeoutMs: { type: 'integer', minimum: 100, maximum: 3_600_000 },
      expiresAt: { type: 'integer', minimum: 0 },
    },
  },
  headers: {
    type: 'object',
    properties: {
      // Printable ASCII: the key is echoed in views and the audit log.
      'idempotency-key': { type: 'string', minLength: 1, maxLength: 128, pattern: '^[\\x20-\\x7E]+$' },
    },
  },
} as const;

function located(reply: FastifyReply, command: CommandView): FastifyReply {
  return reply.header('location', `/api/commands/${encodeURIComponent(command.id)}`);
}

export function commandRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { commands, registry } = deps;

  /**
   * The change is already durable (and maybe sent): a failing audit write is
   * logged, not turned into an error that would make the client retry it.
   */
  const audit = async (request: FastifyRequest, input: Omit<AuditInput, 'actor'>): Promise<void> => {
    try {
      await deps.audit.record({ actor: request.actor, ...input });
    } catch (err) {
      request.log.error({ err, action: input.action, commandId: input.commandId }, 'writing the audit entry failed');
    }
  };

  app.post<{ Params: { id: string }; Body: CommandRequest; Headers: { 'idempotency-key'?: string } }>(
    '/api/devices/:id/commands',
    { schema: createSchema },
    async (request, reply) => {
      const key = request.headers['idempotency-key'];
      const { command, created } = await commands.create(request.params.id, request.body, key === undefined ? { actor: request.actor } : { actor: request.actor, idempotencyKey: key });
      if (created) {
        await audit(request, { action: 'command.create', deviceId: command.deviceId, commandId: command.id, details: { name: command.name, params: command.params } });
      }
      // 202: accepted, not done; a retried request with the same key gets the existing command with 200.
      void located(reply, command).status(created ? 202 : 200);
      return command;
    },
  );

  app.get<{ Params: { id: string } }>('/api/commands/:id', async (request) => {
    const command = await commands.get(request.params.id);
    if (!command) throw new ProtocolError('not_found', `no command ${JSON.stringify(request.params.id)}`);
    return command;
  });

  app.get<{ Params: { id: string }; Querystring: { limit?: string; before?: string } }>('/api/devices/:id/commands', async (request) => {
    const { id } = request.params;
    if (!registry.get(id)) throw new ProtocolError('not_found', `no device ${JSON.stringify(id)}`);
    const { limit: rawLimit, before } = request.query;
    if (before !== undefined && typeof before !== 'string') throw new ProtocolError('bad_request', 'before may be given once');
    let limit = DEFAULT_PAGE;
    if (rawLimit !== undefined) {
      if (!/^\d+$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > MAX_PAGE) {
        throw new ProtocolError('bad_request', `limit must be an integer 1..${MAX_PAGE}, got ${JSON.stringify(rawLimit)}`);
      }
      limit = Number(rawLimit);
    }
    return (await commands.list(id, before === undefined ? { limit } : { limit, before })) satisfies CommandListResponse;
  });

  app.post<{ Params: { id: string } }>('/api/commands/:id/cancel', async (request) => {
    const command = await commands.cancel(request.params.id, request.actor);
    await audit(request, { action: 'command.cancel', deviceId: command.deviceId, commandId: command.id, details: { name: command.name }, outcome: 'ok' });
    return command;
  });
}
