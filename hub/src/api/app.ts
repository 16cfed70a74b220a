/**
 * The HTTP API and static dashboard on Fastify (schema validation, one error
 * handler, inject() for tests without ports). Everything under /api/ needs
 * a signed-in principal with the route's role (access.ts), and so does
 * /metrics; /healthz and logging in do not. Every response carries the
 * security headers (web-headers.ts).
 */
import { existsSync } from 'node:fs';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ApiDeps, RouteEntry } from './api-deps.js';
import { registerAccessControl } from './access.js';
import { errorHandler } from './api-error.js';
import { registerRefusalAudit } from './audit-refusals.js';
import { registerWebHeaders } from './web-headers.js';
import { authRoutes } from './routes/auth.js';
import { alertRoutes } from './routes/alerts.js';
import { auditRoutes } from './routes/audit.js';
import { commandRoutes } from './routes/commands.js';
import { deviceCredentialRoutes } from './routes/device-credentials.js';
import { deviceRoutes } from './routes/devices.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { notifierRoutes } from './routes/notifiers.js';
import { probeRoutes } from './routes/probes.js';
import { ruleRoutes } from './routes/rules.js';
import { silenceRoutes } from './routes/silences.js';
import { stateRoutes } from './routes/state.js';
import { telemetryRoutes } from './routes/telemetry.js';
import { userRoutes } from './routes/users.js';

/** Largest JSON request body the API reads. */
const MAX_BODY_BYTES = 64 * 1024;

export function buildApi(deps: ApiDeps): FastifyInstance {
  const app = Fastify({
    // Typed as Fastify's base logger so routes need not carry pino's generic.
    loggerInstance: deps.log as FastifyBaseLogger,
    // Per-request logs at 20k msgs/s of devices would drown the useful ones.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_BODY_BYTES,
    // Slow clients must not hold connections (slowloris): Node's own timeouts, checked every second.
    http: deps.timeouts,
    requestTimeout: deps.timeouts.requestTimeout,
    keepAliveTimeout: deps.timeouts.keepAliveTimeout,
    // Query strings like ?metric=a&metric=b arrive as arrays.
    routerOptions: { ignoreTrailingSlash: true },
    // Unknown fields are refused (a typo like "nmae" should not pass silently).
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false } },
  });
  const routeTable: RouteEntry[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routeTable.push({ method, url: route.url });
  });
  app.setErrorHandler(errorHandler);
  registerWebHeaders(app, deps.corsOrigins);
  registerAccessControl(app, { accounts: deps.accounts, origins: { allowed: deps.allowedOrigins, secure: deps.secureCookies } });
  registerRefusalAudit(app, deps);

  healthRoutes(app, deps);
  authRoutes(app, deps);
  userRoutes(app, deps);
  deviceRoutes(app, deps);
  deviceCredentialRoutes(app, deps);
  telemetryRoutes(app, deps);
  commandRoutes(app, deps);
  stateRoutes(app, deps);
  probeRoutes(app, deps);
  auditRoutes(app, deps);
  ruleRoutes(app, deps);
  alertRoutes(app, deps);
  silenceRoutes(app, deps);
  notifierRoutes(app, deps);
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
