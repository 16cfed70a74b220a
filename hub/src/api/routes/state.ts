/** Device state (shadow): read it, change desired state [FP-4.3]. */
import { MAX_STATE_KEYS, MAX_STRING_LENGTH, NAME_PATTERN, ProtocolError, type DesiredPatchRequest, type DeviceStateView } from '@iot-hub/protocol';
import type { FastifyInstance, FastifySchemaValidationError } from 'fastify';
import type { ApiDeps } from '../api-deps.js';

const desiredPatchSchema = {
  body: {
    type: 'object',
    required: ['state'],
    additionalProperties: false,
    properties: {
      state: {
        type: 'object',
        propertyNames: { type: 'string', pattern: NAME_PATTERN },
        maxProperties: MAX_STATE_KEYS,
        // One type per branch: a union `type` makes Fastify's Ajv (strict mode) warn. null removes the key.
        additionalProperties: { anyOf: [{ type: 'number' }, { type: 'boolean' }, { type: 'string', maxLength: MAX_STRING_LENGTH }, { type: 'null' }] },
      },
      ifVersion: { type: 'integer', minimum: 0 },
    },
  },
} as const;

/**
 * Ajv's own words, except where they do not help: a bad key is reported as
 * "property name must be valid" without naming it, and a bad value as one
 * error per anyOf branch. Name the key or field; say one thing per value.
 */
function formatErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const parts = new Set<string>();
  for (const e of errors) {
    const where = `${dataVar}${e.instancePath}`;
    const propertyName = (e as FastifySchemaValidationError & { propertyName?: string }).propertyName;
    if (e.keyword === 'propertyNames') continue;
    if (propertyName !== undefined) {
      parts.add(`${where} key ${JSON.stringify(propertyName)} ${e.message ?? ''}`.trim());
    } else if (anyOfPaths.has(e.instancePath)) {
      // A string that is too long failed only the string branch: that is the reason.
      const tooLong = errors.find((x) => x.instancePath === e.instancePath && x.keyword === 'maxLength');
      parts.add(tooLong ? `${where} ${tooLong.message ?? ''}`.trim() : `${where} must be a number, boolean, string or null`);
    } else if (e.keyword === 'additionalProperties') {
      parts.add(`${where} must NOT have additional properties: ${JSON.stringify((e.params as { additionalProperty?: string }).additionalProperty)} (allowed: state, ifVersion)`);
    } else {
      parts.add(`${where} ${e.message ?? ''}`.trim());
    }
  }
  return new Error([...parts].join(', '));
}

export function stateRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { registry, state } = deps;

  app.get<{ Params: { id: string } }>('/api/devices/:id/state', async (request): Promise<DeviceStateView> => {
    const { id } = request.params;
    if (!registry.get(id)) throw new ProtocolError('not_found', `no device ${JSON.stringify(id)}`);
    return await state.view(id);
  });

  app.patch<{ Params: { id: string }; Body: DesiredPatchRequest }>(
    '/api/devices/:id/state/desired',
    { schema: desiredPatchSchema, schemaErrorFormatter: formatErrors },
    async (request): Promise<DeviceStateView> => {
      const { id } = request.params;
      // The service records `state.desired` itself: in the change's transaction where the store has them.
      return await state.patchDesired(id, request.body, { actor: request.actor });
    },
  );
}
