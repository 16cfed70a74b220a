/**
 * The types the API's parts share: what buildApi (app.ts) is given and hands
 * to every route module. They live apart from app.ts because app.ts imports
 * the route modules, and the routes importing back from it made a circle.
 */
import type { HealthResponse } from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { Accounts } from '../auth/accounts.js';
import type { Alerting } from '../alerts/alerting.js';
import type { NotifyService } from '../alerts/notify/notify-service.js';
import type { Audit } from '../audit/audit-log.js';
import type { Commands } from '../commands/commands.js';
import type { DeviceGateway } from '../core/device-gateway.js';
import type { AccountLockout } from '../limits/account-lockout.js';
import type { LoginLimiter } from '../limits/login-limiter.js';
import type { HubMetrics } from '../metrics.js';
import type { Registry } from '../registry/registry.js';
import type { DeviceStates } from '../state/device-states.js';
import type { TelemetryStore } from '../telemetry/telemetry-store.js';
import type { httpServerTimeouts } from '../net/http-timeouts.js';

export interface ApiDeps {
  registry: Registry;
  gateway: DeviceGateway;
  store: TelemetryStore;
  commands: Commands;
  state: DeviceStates;
  audit: Audit;
  /** Rules, alerts and silences; null where alerting is off (the hub always builds it now; kept for API tests without it): its routes answer 404. */
  alerting: Alerting | null;
  /** Alert notifications; null in cluster mode (not available there yet). */
  notify: NotifyService | null;
  accounts: Accounts;
  loginLimiter: LoginLimiter;
  accountLockout: AccountLockout;
  /** TLS is on: the session cookie is marked Secure, and the hub's own origin is https. */
  secureCookies: boolean;
  /** Origins besides the hub's own that may send cookie-authenticated changes. */
  allowedOrigins: readonly string[];
  /** Origins whose pages may call the API with a bearer token (CORS). */
  corsOrigins: readonly string[];
  dashboardDir: string | null;
  health: () => HealthResponse;
  metrics: HubMetrics;
  log: Logger;
  /** Header, request and keep-alive timeouts of the HTTP server (http-timeouts.ts). */
  timeouts: ReturnType<typeof httpServerTimeouts>;
}

/** A route as Fastify registered it, implicit ones (HEAD for every GET) included. */
export interface RouteEntry {
  method: string;
  url: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered, read by tests that must cover each one (the role matrix). */
    routeTable: readonly RouteEntry[];
  }
}
