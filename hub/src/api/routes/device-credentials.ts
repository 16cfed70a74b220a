/**
 * Device credentials: rotate a device's token (the new one is returned once,
 * the old one stops working) or revoke it (nothing authenticates until the
 * next rotation). Either way the device's connection is cut at once.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';

/** 200 answer to POST /api/devices/{id}/token; `token` is shown only this once. */
export interface TokenRotationResponse {
  id: string;
  token: string;
  issuedAt: number;
}

/** 200 answer to POST /api/devices/{id}/revoke. */
export interface TokenRevocationResponse {
  id: string;
  revokedAt: number;
}

export function deviceCredentialRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'registry' | 'gateway'>): void {
  const { registry, gateway } = deps;

  // TODO(audit): record `device.token.rotate` / `device.token.revoke` with request.actor once the audit log has those actions.
  app.post<{ Params: { id: string } }>('/api/devices/:id/token', async (request, reply) => {
    const { entry, token } = await registry.rotateToken(request.params.id);
    gateway.credentialsChanged(entry.record.id, 'rotated');
    void reply.header('cache-control', 'no-store');
    return { id: entry.record.id, token, issuedAt: entry.record.tokenIssuedAt } satisfies TokenRotationResponse;
  });

  app.post<{ Params: { id: string } }>('/api/devices/:id/revoke', async (request) => {
    const entry = await registry.revokeToken(request.params.id);
    gateway.credentialsChanged(entry.record.id, 'revoked');
    return { id: entry.record.id, revokedAt: entry.record.tokenRevokedAt ?? Date.now() } satisfies TokenRevocationResponse;
  });
}
