/**
 * Device credentials: rotate a device's token (the new one is returned once,
 * the old one stops working) or revoke it (nothing authenticates until the
 * next rotation). Either way the device's connection is cut at once.
 */
import type { TokenRevocationResponse, TokenRotationResponse } from '@iot-hub/protocol';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../api-deps.js';

export function deviceCredentialRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'registry' | 'gateway' | 'audit'>): void {
  const { registry, gateway, audit } = deps;

  app.post<{ Params: { id: string } }>('/api/devices/:id/token', async (request, reply) => {
    const { entry, token } = await registry.rotateToken(request.params.id);
    gateway.credentialsChanged(entry.record.id, 'rotated');
    await audit.record({ actor: request.actor, action: 'device.token.rotate', deviceId: entry.record.id, details: {}, outcome: 'ok' });
    void reply.header('cache-control', 'no-store');
    return { id: entry.record.id, token, issuedAt: entry.record.tokenIssuedAt } satisfies TokenRotationResponse;
  });

  app.post<{ Params: { id: string } }>('/api/devices/:id/revoke', async (request) => {
    const entry = await registry.revokeToken(request.params.id);
    gateway.credentialsChanged(entry.record.id, 'revoked');
    await audit.record({ actor: request.actor, action: 'device.token.revoke', deviceId: entry.record.id, details: {}, outcome: 'ok' });
    return { id: entry.record.id, revokedAt: entry.record.tokenRevokedAt ?? Date.now() } satisfies TokenRevocationResponse;
  });
}
