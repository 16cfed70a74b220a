/**
 * The HTTP API and static dashboard on Fastify (schema validation, one error
 * handler, inject() for tests without ports). Everything under /api/ needs
 * the admin bearer token, and so does /metrics; /healthz does not.
 */
import { existsSync } from 'node:fs';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { HealthResponse } from '@iot-hub/protocol';
import type { Logger } from 'pino';
import { bearerToken, type AdminAuth } from '../auth/admin-token.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { CommandService } from '../commands/command-service.js';
import type { DeviceGateway } from '../core/device-gateway.js';
import type { HubMetrics } from '../metrics.js';
import type { Registry } from '../registry/registry.js';
import type { StateService } from '../state/state-service.js';
import type { TelemetryStore } from '../telemetry/telemetry-store.js';
import { errorHandler } from './api-error.js';
import { auditRoutes } from './routes/audit.js';
import { commandRoutes } from './routes/commands.js';
import { deviceCredentialRoutes } from './routes/device-credentials.js';
import { deviceRoutes } from './routes/devices.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { stateRoutes } from './routes/state.js';
import { telemetryRoutes } from './routes/telemetry.js';

export interface ApiDeps {
  registry: Registry;
  gateway: DeviceGateway;
  store: TelemetryStore;
  commands: CommandService;
  state: StateService;
  audit: AuditLog;
  adminAuth: AdminAuth;
  dashboardDir: string | null;
  health: () => HealthResponse;
  metrics: HubMetrics;
  log: Logger;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, for the audit log: `admin` (the admin token) until operator accounts exist. */
    actor: string;
  }
}

/** Largest JSON request body the API reads. */
const MAX_BODY_BYTES = 64 * 1024;

export function buildApi(deps: ApiDeps): FastifyInstance {
  const app = Fastify({
    // Typed as Fastify's base logger so routes need not carry pino's generic.
    loggerInstance: deps.log as FastifyBaseLogger,
    // Per-request logs at 20k msgs/s of devices would drown the useful ones.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_BODY_BYTES,
    // Query strings like ?metric=a&metric=b arrive as arrays.
    routerOptions: { ignoreTrailingSlash: true },
    // Unknown fields are refused (a typo like "nmae" should not pass silently).
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false } },
  });
  app.setErrorHandler(errorHandler);
  app.decorateRequest('actor', '');

  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (!path.startsWith('/api/') && path !== '/metrics') return;
    const token = bearerToken(request.headers.authorization);
    if (token === null || !deps.adminAuth.verify(token)) {
      void reply.header('www-authenticate', 'Bearer realm="iot-hub"');
      return reply.status(401).send({ error: 'unauthorized', code: 401, message: 'a valid admin token is required: Authorization: Bearer <token>' });
    }
    request.actor = 'admin';
  });

  healthRoutes(app, deps);
  deviceRoutes(app, deps);
  deviceCredentialRoutes(app, deps);
  telemetryRoutes(app, deps);
  commandRoutes(app, deps);
  stateRoutes(app, deps);
  auditRoutes(app, deps);
  metricsRoutes(app, deps);

  const dir = deps.dashboardDir;
  if (dir !== null && existsSync(dir)) {
    void app.register(fastifyStatic, { root: dir, prefix: '/', index: ['index.html'] });
  } else {
    app.get('/', async (_request, reply) =>
      reply.type('text/plain').send('The dashboard is not built. Run `npm run build` (or `npm run demo`) and restart the hub.\n'),
    );
  }

  app.setNotFoundHandler(async (request, reply) =>
    reply.status(404).send({ error: 'not_found', code: 404, message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
  return app;
}
