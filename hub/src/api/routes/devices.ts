/**
 * Device resources: provision, list (filtered), read, change name, room
 * and labels, delete. Provisioning, changing and deleting are audited
 * (refusals by audit-refusals.ts).
 */
import {
  DEVICE_ID_PATTERN,
  LABEL_PATTERN,
  MAX_LABELS_PER_DEVICE,
  NAME_PATTERN,
  ProtocolError,
  ROOM_MAX_LENGTH,
  ROOM_PATTERN,
  type DeviceListResponse,
  type DeviceUpdateRequest,
  type ProvisionRequest,
  type ProvisionResponse,
} from '@iot-hub/protocol';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../api-deps.js';
import { strictQuery } from './strict-query.js';

const name = { type: 'string', minLength: 1, maxLength: 128 } as const;
const room = { type: 'string', minLength: 1, maxLength: ROOM_MAX_LENGTH, pattern: ROOM_PATTERN } as const;
const labels = { type: 'array', maxItems: MAX_LABELS_PER_DEVICE, items: { type: 'string', pattern: LABEL_PATTERN } } as const;

const provisionSchema = {
  body: {
    type: 'object',
    required: ['id', 'kind'],
    additionalProperties: false,
    properties: {
      id: { type: 'string', pattern: DEVICE_ID_PATTERN },
      kind: { type: 'string', pattern: NAME_PATTERN },
      name,
      room,
      labels,
    },
  },
} as const;

const updateSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    properties: { name, room: { anyOf: [room, { type: 'null' }] }, labels },
  },
} as const;

const LIST_PARAMS = ['kind', 'status', 'room', 'label'] as const;

export function deviceRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { registry, gateway, audit } = deps;

  app.post<{ Body: ProvisionRequest }>('/api/devices', { schema: provisionSchema }, async (request, reply) => {
    const { id, kind, name, room, labels } = request.body;
    const details = { kind, ...(name === undefined ? {} : { name }), ...(room === undefined ? {} : { room }), ...(labels === undefined ? {} : { labels }) };
    const { entry, token } = await registry.provision(request.body);
    await audit.record({ actor: request.actor, action: 'device.create', deviceId: id, details, outcome: 'ok' });
    const body: ProvisionResponse = { ...registry.view(entry), token };
    void reply.status(201).header('location', `/api/devices/${encodeURIComponent(entry.record.id)}`);
    return body;
  });

  app.get<{ Querystring: Record<string, string | string[]> }>('/api/devices', async (request) => {
    const { kind, status, room, label } = strictQuery(request.query, LIST_PARAMS);
    const devices: DeviceListResponse['devices'] = [];
    for (const entry of registry.all()) {
      if (kind !== undefined && entry.record.kind !== kind) continue;
      if (status !== undefined && entry.presence.status !== status) continue;
      if (room !== undefined && entry.record.room !== room) continue;
      if (label !== undefined && !entry.record.labels.includes(label)) continue;
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

  app.patch<{ Params: { id: string }; Body: DeviceUpdateRequest }>('/api/devices/:id', { schema: updateSchema }, async (request) => {
    const { entry, changed, previous } = await registry.update(request.params.id, request.body);
    await audit.record({ actor: request.actor, action: 'device.update', deviceId: entry.record.id, details: { ...changed, previous }, outcome: 'ok' });
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
