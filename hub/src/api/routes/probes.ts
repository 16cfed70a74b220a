/**
 * Probes: what the conformance runner (conformance/, docs/devices.md "Checking your
 * firmware") does to a connected device that the command and state API
 * must not let anyone do [FP-9]. A `command` probe sends a raw command
 * message, outside command tracking, with an id and `expiresAt` of the
 * caller's choosing: the same id twice tests duplicate handling [FP-4.4],
 * a past `expiresAt` tests that the device does not execute it. The device's
 * results for it are ignored by the hub (no tracked command has a `probe_`
 * id) [FP-4.5]; the runner reads them from the dashboard socket. A
 * `disconnect` probe closes the device's connection (WebSocket 1001) so
 * that it reconnects [FP-3.2]. Admin only (the default for a new POST
 * route, auth/roles.ts), audited as `device.probe`.
 */
import { randomBytes } from 'node:crypto';
import {
  MAX_PAYLOAD_BYTES,
  PROBE_ID_PREFIX,
  ProtocolError,
  commandProblem,
  hubMessageBytes,
  type CommandMessage,
  type ProbeRequest,
  type ProbeResponse,
} from '@iot-hub/protocol';
import type { FastifyInstance } from 'fastify';
import type { DeviceEntry } from '../../registry/registry.js';
import type { ApiDeps } from '../api-deps.js';

const probeSchema = {
  body: {
    type: 'object',
    required: ['kind'],
    additionalProperties: false,
    properties: {
      kind: { enum: ['command', 'disconnect'] },
      // Never a tracked command's id (`cmd_…`): a result for it must not end a real command.
      id: { type: 'string', pattern: `^${PROBE_ID_PREFIX}[A-Za-z0-9_.-]{1,58}$` },
      name: { type: 'string', minLength: 1, maxLength: 64 },
      params: { type: 'object' },
      expiresAt: { type: 'integer', minimum: 0 },
    },
  },
} as const;

type Deps = Pick<ApiDeps, 'registry' | 'gateway' | 'audit'>;

export function probeRoutes(app: FastifyInstance, deps: Deps): void {
  const { registry, gateway, audit } = deps;

  app.post<{ Params: { id: string }; Body: ProbeRequest }>('/api/devices/:id/probes', { schema: probeSchema }, async (request, reply) => {
    const { id } = request.params;
    const entry = registry.get(id);
    if (!entry) throw new ProtocolError('not_found', `no device ${JSON.stringify(id)}`);
    const body = request.body as ProbeRequest & { name?: unknown };
    let answer: ProbeResponse;
    if (body.kind === 'disconnect') {
      if (Object.keys(body).length > 1) throw new ProtocolError('bad_request', 'a disconnect probe takes no other field than "kind"');
      if (!gateway.session(id)) throw new ProtocolError('not_connected', `device ${JSON.stringify(id)} is not connected`);
      gateway.disconnect(id, 'probe');
      answer = { kind: 'disconnect', deviceId: id };
    } else {
      if (typeof body.name !== 'string') throw new ProtocolError('bad_request', 'a command probe needs "name"');
      const message = commandProbe(entry, body);
      const link = gateway.readyLink(id, 'commands');
      if (!link) throw new ProtocolError('not_connected', `device ${JSON.stringify(id)} is not connected, or not subscribed to its commands`);
      link.send(message);
      answer = { kind: 'command', deviceId: id, message };
    }
    await audit.record({ actor: request.actor, action: 'device.probe', deviceId: id, details: { ...body }, outcome: 'ok' });
    return reply.status(202).send(answer);
  });
}

/** The command message to send, checked like an operator's command but for `expiresAt` [FP-4.1, FP-7.2]. */
function commandProbe(entry: DeviceEntry, probe: Extract<ProbeRequest, { kind: 'command' }>): CommandMessage {
  const capabilities = entry.record.capabilities;
  const declared = capabilities?.commands;
  if (!declared) throw new ProtocolError('commands_unknown', `device ${JSON.stringify(entry.record.id)} has not sent hello yet [FP-4.1]`);
  if (!Object.hasOwn(declared, probe.name)) {
    const names = Object.keys(declared);
    throw new ProtocolError('unknown_command', `${JSON.stringify(probe.name)}: device ${JSON.stringify(entry.record.id)} declares ${names.length === 0 ? 'no commands' : names.join(', ')}`);
  }
  const params = probe.params ?? {};
  const problem = commandProblem(declared, probe.name, params);
  if (problem !== undefined) throw new ProtocolError('invalid_params', problem);
  const message: CommandMessage = { v: 1, type: 'command', id: probe.id ?? `${PROBE_ID_PREFIX}${randomBytes(8).toString('hex')}`, name: probe.name, params };
  if (probe.expiresAt !== undefined) message.expiresAt = probe.expiresAt;
  const bytes = hubMessageBytes(message);
  if (bytes > MAX_PAYLOAD_BYTES) {
    throw new ProtocolError('payload_too_large', `the command would reach the device as ${bytes} bytes, over the ${MAX_PAYLOAD_BYTES} the protocol allows`);
  }
  const room = capabilities?.maxMessageBytes;
  if (room !== undefined && bytes > room) {
    throw new ProtocolError('too_large_for_device', `the command would reach the device as ${bytes} bytes; its hello declares maxMessageBytes ${room}`);
  }
  return message;
}
