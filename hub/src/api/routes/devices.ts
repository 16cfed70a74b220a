/** Device resources: provision, list, read, delete. Provisioning and deleting are audited (refusals by audit-refusals.ts). */
import { DEVICE_ID_PATTERN, NAME_PATTERN, ProtocolError, type DeviceListResponse, type ProvisionRequest, type ProvisionResponse } from '@iot-hub/protocol';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../api-deps.js';

const provisionSchema = {
  body: {
    type: 'object',
    required: ['id', 'kind'],
    additionalProperties: false,
    properties: {
      id: { type: 'string', pattern: DEVICE_ID_PATTERN },
      kind: { type: 'string', pattern: NAME_PATTERN },
      name: { type: 'string', minLength: 1, maxLength: 128 },
    },
  },
} as const;

export function deviceRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { registry, gateway, audit } = deps;

  app.post<{ Body: ProvisionRequest }>('/api/devices', { schema: provisionSchema }, async (request, reply) => {
    const { id, kind, name } = request.body;
    const details = { kind, ...(name === undefined ? {} : { name }) };
    const { entry, token } = await registry.provision(request.body);
    await audit.record({ actor: request.actor, action: 'device.create', deviceId: id, details, outcome: 'ok' });
    const body: ProvisionResponse = { ...registry.view(entry), token };
    void reply.status(201).header('location', `/api/devices/${encodeURIComponent(entry.record.id)}`);
    return body;
  });

  app.get<{ Querystring: { kind?: string; status?: string } }>('/api/devices', async (request) => {
    const { kind, status } = request.query;
    const devices: DeviceListResponse['devices'] = [];
    for (const entry of registry.all()) {
      if (kind !== undefined && entry.record.kind !== kind) continue;
      if (status !== undefined && entry.presence.status !== status) continue;
      // The list's size per device stays bounded; the device's own route has every value.
      devices.push(registry.summary(entry));
    }
    return { devices } satisfies DeviceListResponse;
  });

  app.get<{ Params: { id: string } }>('/api/devices/:id', async (request) => {
    const entry = registry.get(request.params.id);
    if (!entry) throw new ProtocolError('not_found', `no device ${JSON.stringify(request.params.id)}`);
    return registry.view(entry);
  });

  app.delete<{ Params: { id: string } }>('/api/devices/:id', async (request, reply) => {
    const { id } = request.params;
    const entry = registry.get(id);
    if (!entry) throw new ProtocolError('not_found', `no device ${JSON.stringify(id)}`);
    await registry.remove(id);
    // A deleted device is cut off at once; its token no longer authenticates.
    gateway.disconnect(id, 'deleted');
    await audit.record({ actor: request.actor, action: 'device.delete', deviceId: id, details: { kind: entry.record.kind, name: entry.record.name }, outcome: 'ok' });
    return reply.status(204).send();
  });
}
