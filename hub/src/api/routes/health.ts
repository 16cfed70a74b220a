/** Liveness and a summary of the hub for monitors and the dashboard status. */
import type { HealthResponse } from '@iot-hub/protocol';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../api-deps.js';

export function healthRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/healthz', async (_request, reply) => {
    const health = deps.health();
    void reply.status(health.status === 'ok' ? 200 : 503);
    return health satisfies HealthResponse;
  });
}
