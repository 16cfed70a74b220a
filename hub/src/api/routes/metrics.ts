/** Prometheus scrape endpoint; needs the admin token like /api/ (Prometheus: `authorization: {credentials: ...}`). */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../api-deps.js';

export function metricsRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/metrics', async (_request, reply) => {
    const body = await deps.metrics.render();
    return reply.type(deps.metrics.contentType).send(body);
  });
}
