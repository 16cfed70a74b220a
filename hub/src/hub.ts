/**
 * The composition root: wires config into the parts and starts and stops
 * them in order. buildHub() listens on nothing; start() does, so tests and
 * main.ts decide when. Parts start in dependency order and stop in reverse.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { MAX_TS_PAST_MS, type HealthResponse } from '@iot-hub/protocol';
import type { DestinationStream, Logger } from 'pino';
import type { RouteEntry } from './api/api-deps.js';
import { buildApi } from './api/app.js';
import { NotifyService } from './alerts/notify/notify-service.js';
import { NOTIFY_FILE, SqliteNotifierStore } from './alerts/notify/sqlite-notifier-store.js';
import { AuditLog } from './audit/audit-log.js';
import { Alerting } from './alerts/alerting.js';
import { registryDeviceFacts } from './alerts/device-scope.js';
import { ALERTS_FILE, SqliteAlertStore } from './alerts/sqlite-alert-store.js';
import { CommandService } from './commands/command-service.js';
import type { Commands } from './commands/commands.js';
import { Accounts } from './auth/accounts.js';
import { ACCOUNTS_FILE, SqliteAccountStore } from './auth/sqlite-account-store.js';
import { loadAdminAuth, type AdminAuth } from './auth/admin-token.js';
import { socketAuthenticator } from './auth/socket-auth.js';
import type { HubConfig } from './config/settings.js';
import { DeviceGateway } from './core/device-gateway.js';
import type { DeviceLink } from './core/device-link.js';
import { EventBus } from './events/event-bus.js';
import { DashboardEndpoint } from './live/dashboard-endpoint.js';
import { createLogger } from './log.js';
import { createMetrics } from './metrics.js';
import type { UncaughtErrors } from './process-guard.js';
import { MetricNameLimit } from './registry/metric-names.js';
import { Registry } from './registry/registry.js';
import { SqliteRegistryStore } from './registry/sqlite-registry-store.js';
import { SqliteSeqWindowStore } from './registry/sqlite-seq-window-store.js';
import { StateService } from './state/state-service.js';
import { TelemetryPipeline } from './telemetry/pipeline.js';
import { ConnectionGuard } from './limits/connection-guard.js';
import { UnauthenticatedConnections } from './limits/unauthenticated-connections.js';
import { DeviceRateLimiter } from './limits/device-rate-limiter.js';
import { IngestGate } from './limits/ingest-gate.js';
import { AccountLockout } from './limits/account-lockout.js';
import { LoginLimiter } from './limits/login-limiter.js';
import { HttpConnectionLimiter } from './net/http-connection-limiter.js';
import { httpServerTimeouts } from './net/http-timeouts.js';
import { LogThrottle } from './limits/log-throttle.js';
import { HttpsListener } from './net/https-listener.js';
import { listenBehindProxy } from './net/proxy-protocol/listen-behind-proxy.js';
import { ProxyProtocol } from './net/proxy-protocol/proxy-protocol.js';
import { readTlsFiles } from './net/tls.js';
import { absorbSocketErrors } from './net/socket-errors.js';
import { refuseUpgrade } from './net/upgrade-refusal.js';
import { ThreadedSqliteTelemetryStore } from './telemetry/threaded/threaded-sqlite-store.js';
import type { TelemetryStore } from './telemetry/telemetry-store.js';
import { BufferedTelemetryStore } from './telemetry/buffer/buffered-telemetry-store.js';
import { TelemetryBuffer } from './telemetry/buffer/telemetry-buffer.js';
import { InfluxTelemetryStore } from './telemetry/influx/influx-telemetry-store.js';
import { rawAgeLimit } from './telemetry/influx/influx-schema.js';
import { MqttTransport } from './transports/mqtt/mqtt-transport.js';
import { ToolClients } from './transports/mqtt/tool-clients.js';
import { WsDeviceEndpoint } from './transports/ws/ws-device-endpoint.js';
import { ClusterNode } from './cluster/cluster-node.js';
import { LiveRelay } from './cluster/live-relay.js';
import { PgRegistryStore } from './cluster/registry/pg-registry-store.js';
import { PgSeqWindowStore } from './cluster/registry/pg-seq-window-store.js';
import { PgAccountStore } from './cluster/auth/pg-account-store.js';
import type { HubInboxItem } from './cluster/bus/bus-messages.js';
import { PgCommandService } from './cluster/commands/pg-command-service.js';
import { PgStateService } from './cluster/state/pg-state-service.js';
import { PgAuditStore } from './cluster/audit/pg-audit-store.js';
import { PgAlertStore } from './cluster/alerts/pg-alert-store.js';
import { AlertOwnership } from './cluster/alerts/alert-ownership.js';
import { NODE_LOST } from './cluster/ownership/schema.js';
import type { SessionClaims } from './core/session-claims.js';
import type { Queryable } from './cluster/pg/pg-database.js';
import type { Audit } from './audit/audit-log.js';
import type { DeviceStates } from './state/device-states.js';
import { RegistrySync } from './cluster/registry/registry-sync.js';
import type { PresenceInfo } from '@iot-hub/protocol';

export const HUB_VERSION = '0.1.0';

/** The window of --log-lines-per-source. */
const LOG_WINDOW_MS = 10_000;

export interface Hub {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Bound ports, known after start() (useful with port 0). */
  readonly httpPort: number;
  readonly mqttPort: number;
  /** MQTT over TLS, when a certificate and key are configured. */
  readonly mqttsPort: number | null;
  /** The admin token generated at this start, if any: print it once. */
  readonly generatedAdminToken: string | null;
  /** The HTTP routes as Fastify registered them (method, pattern), implicit HEAD routes included. */
  readonly httpRoutes: readonly RouteEntry[];
  readonly log: Logger;
  /** The core's event bus: where parts (and tests) emit and hear alert transitions. */
  readonly events: EventBus;
}

export interface HubDeps {
  log?: Logger;
  /** Where the hub's own logger writes (when `log` is not given); stdout when absent. */
  logDestination?: DestinationStream;
  /** The push-back gate, built from the config unless given (a test holds one closed). */
  gate?: IngestGate;
  /** Counts of errors that reached the process guard (main.ts installs it); exported in /metrics when given. */
  uncaught?: UncaughtErrors;
}

/** dashboard/dist of this install: hub/dist/hub.js → ../../dashboard/dist. */
export function defaultDashboardDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dashboard', 'dist');
}

/**
 * SQLite, or InfluxDB behind the durable local buffer: devices are
 * acknowledged once points are in the buffer on disk, and InfluxDB may be
 * down for a while ([G1]).
 */
function buildTelemetryStore(config: Readonly<HubConfig>, dataDir: string, log: Logger): TelemetryStore {
  if (config.store === 'sqlite' || config.influxUrl === null) {
    return new ThreadedSqliteTelemetryStore(
      { file: join(dataDir, 'telemetry.db') },
      {
        onCheckpointError: (message) => log.warn({ err: message }, 'checkpointing telemetry.db failed: SQLite checkpoints it in line instead'),
        onThreadFailure: (err) => log.error({ err }, 'the telemetry store thread stopped: no telemetry is stored or acknowledged until it is started again'),
        onThreadRestarted: () => log.info('the telemetry store thread is running again: telemetry is stored and acknowledged'),
      },
    );
  }
  const influx = new InfluxTelemetryStore({ url: config.influxUrl, rawRetention: config.influxRawRetention, rollupRetention: config.influxRollupRetention, log });
  const buffer = new TelemetryBuffer({ file: join(dataDir, 'influx-buffer.db'), maxBytes: config.influxBufferMaxMb * 1024 * 1024 }, (message) =>
    log.warn({ err: message }, 'checkpointing the telemetry buffer failed: SQLite checkpoints it in line instead'),
  );
  return new BufferedTelemetryStore(influx, buffer, {
    batchPoints: config.influxBatchPoints,
    flushMs: config.influxFlushMs,
    concurrency: 2,
    deadLetterFile: join(dataDir, 'influx-dead-letter.jsonl'),
    onLateData: (from, to) => influx.rollUp(from, to),
    log,
  });
}

/** Cluster mode: every device's presence as the cluster store has it (who holds it, since when, under which epoch). */
async function clusterPresence(cluster: ClusterNode): Promise<{ presence: Map<string, PresenceInfo>; presenceEpochs: Map<string, number> }> {
  const presence = new Map<string, PresenceInfo>();
  const presenceEpochs = new Map<string, number>();
  for (const row of await cluster.ownership.all()) {
    presence.set(row.deviceId, { status: row.online ? 'online' : 'offline', since: row.since, reason: row.reason, transport: row.transport });
    presenceEpochs.set(row.deviceId, row.epoch);
  }
  return { presence, presenceEpochs };
}

export function buildHub(config: Readonly<HubConfig>, deps: HubDeps = {}): Hub {
  // Lines about one device or address are capped; a logger passed in (deps.log) is used as it is.
  const logThrottle = new LogThrottle({ linesPerWindow: config.logLinesPerSource, windowMs: LOG_WINDOW_MS });
  const log = deps.log ?? createLogger(config.logLevel, deps.logDestination, logThrottle);
  const dataDir = resolve(config.dataDir);
  const events = new EventBus();
  const telemetryStore = buildTelemetryStore(config, dataDir, log.child({ part: 'store' }));
  // Cluster mode: PostgreSQL holds the records every node shares (checkSettings made sure the URLs are set).
  const cluster = config.cluster
    ? new ClusterNode({
        nodeId: config.nodeId!,
        pgUrl: config.pgUrl!,
        redisUrl: config.redisUrl!,
        pgMaxConnections: config.pgMaxConnections,
        leaseTtlMs: config.nodeLeaseSec * 1000,
        log: log.child({ part: 'cluster' }),
      })
    : null;
  const registryStore = cluster ? new PgRegistryStore(cluster.db) : new SqliteRegistryStore(join(dataDir, 'registry.db'));
  // Seq windows per boot belong to the device records: same file, own connection and tables.
  const seqWindowStore = cluster ? new PgSeqWindowStore(cluster.db) : new SqliteSeqWindowStore(join(dataDir, 'registry.db'));
  const metricNames = new MetricNameLimit(config.maxMetricsPerDevice);
  const registry = new Registry(registryStore, telemetryStore, events, log.child({ part: 'registry' }), metricNames, seqWindowStore);
  const pipeline = new TelemetryPipeline(telemetryStore, log.child({ part: 'telemetry' }));
  // Commands, device state and the audit log share one SQLite file, each with its own tables;
  // in a cluster, PostgreSQL, and the node holding the device is told over the bus.
  const controlFile = join(dataDir, 'control.db');
  const commandOptions = {
    registry,
    events,
    linkOf: (id: string): DeviceLink | undefined => gateway.readyLink(id, 'commands'),
    defaultTimeoutMs: config.commandTimeoutMs,
    defaultExpiryMs: config.commandExpirySec * 1000,
    maxPendingPerDevice: config.maxPendingCommands,
    log: log.child({ part: 'commands' }),
  };
  const commands: Commands = cluster
    ? new PgCommandService({ ...commandOptions, db: cluster.db, notifyOwner: (id) => cluster.notifyOwner(id, { type: 'deliverCommands', deviceId: id }) })
    : new CommandService({ ...commandOptions, file: controlFile });
  const auditLog = log.child({ part: 'audit' });
  const stateOptions = { registry, events, linkOf: (id: string): DeviceLink | undefined => gateway.readyLink(id, 'desired'), log: log.child({ part: 'state' }) };
  let audit: Audit & { open(): Promise<void>; close(): Promise<void> };
  let state: DeviceStates;
  let pgCommands: PgCommandService | null = null;
  let pgState: PgStateService | null = null;
  if (cluster) {
    const pgAudit = new AuditLog<Queryable>({ store: new PgAuditStore(cluster.db), events, log: auditLog });
    audit = pgAudit;
    pgState = new PgStateService({ ...stateOptions, db: cluster.db, audit: pgAudit, notifyOwner: (id) => cluster.notifyOwner(id, { type: 'desiredChanged', deviceId: id }) });
    state = pgState;
    pgCommands = commands as PgCommandService;
  } else {
    const sqliteAudit = new AuditLog({ file: controlFile, events, log: auditLog });
    audit = sqliteAudit;
    state = new StateService({ ...stateOptions, file: controlFile, audit: sqliteAudit });
  }
  // In a cluster rules and alerts live in PostgreSQL, and each device's rules run on the node that evaluates it (AlertOwnership).
  const pgAlerts = cluster ? new PgAlertStore(cluster.db) : null;
  const alertOwners = cluster && pgAlerts ? new AlertOwnership({ store: pgAlerts, ownership: cluster.ownership, nodeId: cluster.nodeId, log: log.child({ part: 'alerts' }) }) : null;
  const alerting = new Alerting({
    store: pgAlerts ?? new SqliteAlertStore(join(dataDir, ALERTS_FILE)),
    events,
    devices: registryDeviceFacts(registry),
    commands,
    audit,
    ...(alertOwners && pgAlerts ? { owns: alertOwners.owns, acknowledgeElsewhere: (alert, entry) => pgAlerts.acknowledgeElsewhere(alert, entry) } : {}),
    log: log.child({ part: 'alerts' }),
  });
  /** Cluster mode: a device's open alerts are taken over before its session opens here. */
  const sessionClaims: SessionClaims | undefined =
    cluster && alertOwners
      ? {
          claim: async (deviceId, transport) => {
            const epoch = await cluster.claim(deviceId, transport);
            await alertOwners.adopt([{ deviceId, epoch }]);
            return epoch;
          },
          release: (deviceId, epoch, reason) => cluster.release(deviceId, epoch, reason),
        }
      : undefined;
  const rateLimiter = new DeviceRateLimiter({ ratePerSec: config.deviceRate, burst: config.deviceBurst });
  const maxAge = config.store === 'influx' ? rawAgeLimit(config.influxRawRetention, MAX_TS_PAST_MS) : null;
  const gateway: DeviceGateway = new DeviceGateway({
    registry,
    pipeline,
    events,
    commands,
    state,
    rateLimiter,
    ...(maxAge ? { maxAge } : {}),
    ...(cluster && sessionClaims ? { claims: sessionClaims, refreshRegistry: () => (registrySync as RegistrySync).poll() } : {}),
    log: log.child({ part: 'devices' }),
  });
  const guard = new ConnectionGuard({
    maxConnections: config.maxConnections,
    ipConnectRate: config.ipConnectRate,
    ipConnectBurst: config.ipConnectBurst,
    openConnections: (): number => gateway.sessionCount,
  });
  const unauthenticated = new UnauthenticatedConnections({ maxTotal: config.maxUnauthenticated, maxPerIp: config.maxUnauthenticatedPerIp, timeoutMs: config.authTimeoutMs });
  const tls = config.tlsCert !== null && config.tlsKey !== null ? readTlsFiles(config.tlsCert, config.tlsKey) : null;
  // Push-back for the whole hub: no device socket is read while its work is behind.
  const gate = deps.gate ?? new IngestGate({ maxLagMs: config.ingestMaxLagMs, maxInFlight: config.ingestMaxInFlight });
  // Behind trusted balancers every listener reads the PROXY header first, so limits and logs see the client.
  const proxyProtocol = config.proxyProtocolFrom.length > 0 ? new ProxyProtocol({ trusted: config.proxyProtocolFrom, log: log.child({ part: 'proxy-protocol' }) }) : undefined;
  // Tools (Node-RED, Home Assistant) read alerts/# with an API token; `accounts` is built below and used only once they connect.
  const tools = new ToolClients({
    verifyToken: async (token) => (await accounts.bearer(token))?.actor ?? null,
    isDeviceId: (id) => registry.get(id) !== undefined,
    log: log.child({ part: 'mqtt' }),
  });
  const mqtt: MqttTransport = new MqttTransport({
    host: config.host,
    port: config.mqttPort,
    maxPayloadBytes: config.maxPayloadBytes,
    maxOutboundBytes: config.maxDeviceOutboundKb * 1024,
    gateway,
    guard,
    unauthenticated,
    gate,
    ...(tls ? { tls: { ...tls, port: config.mqttsPort } } : {}),
    ...(proxyProtocol ? { proxyProtocol } : {}),
    tools,
    log: log.child({ part: 'mqtt' }),
  });
  // Alert notifications: single-node for now (a cluster would notify once per node).
  const notify = cluster
    ? null
    : new NotifyService({
        store: new SqliteNotifierStore(join(dataDir, NOTIFY_FILE)),
        events,
        publish: (topic, payload) => mqtt.publishAlert(topic, payload),
        maxAttempts: config.webhookMaxAttempts,
        log: log.child({ part: 'notify' }),
      });
  if (cluster) log.info('alert notifications (webhooks, MQTT alerts/#) are off in cluster mode for now');
  const wsDevices: WsDeviceEndpoint = new WsDeviceEndpoint({ maxPayloadBytes: config.maxPayloadBytes, maxOutboundBytes: config.maxDeviceOutboundKb * 1024, gateway, guard, unauthenticated, gate, log: log.child({ part: 'ws-device' }) });

  // The admin token is read from the data dir at start(); until then nothing verifies.
  let adminAuth: AdminAuth = { verify: () => false, generatedToken: null };
  const delegatingAuth: AdminAuth = {
    verify: (token) => adminAuth.verify(token),
    get generatedToken() {
      return adminAuth.generatedToken;
    },
  };
  const accounts = new Accounts({
    store: cluster ? new PgAccountStore(cluster.db) : new SqliteAccountStore(join(dataDir, ACCOUNTS_FILE)),
    adminAuth: delegatingAuth,
    sessionIdleMs: config.sessionIdleMin * 60_000,
    sessionMaxMs: config.sessionMaxHours * 3_600_000,
    log: log.child({ part: 'accounts' }),
  });
  const loginLimiter = new LoginLimiter(config.loginRate);
  const accountLockout = new AccountLockout({ freeFailures: config.loginAccountFailures, maxLockSec: config.loginLockoutMaxSec });
  const registrySync = cluster
    ? new RegistrySync({
        store: registryStore as PgRegistryStore,
        registry,
        log: log.child({ part: 'registry-sync' }),
        onChanged: (added, _updated, removedIds, credentials) => {
          // A device deleted, or its token rotated or revoked, on another node: its session here ends.
          for (const id of removedIds) gateway.disconnect(id, 'deleted');
          for (const c of credentials) gateway.credentialsChanged(c.id, c.change);
          // A device new here may already be online elsewhere: its presence event came before its record and was dropped.
          if (added.length > 0) void refreshPresence(added.map((d) => d.record.id));
        },
      })
    : null;
  const latestOfAll = telemetryStore.latestOfAll?.bind(telemetryStore);
  const relay = cluster
    ? new LiveRelay({
        core: events,
        bus: cluster.bus,
        registry,
        registryChanged: () => registrySync?.nudge(),
        ...(latestOfAll ? { latestOfAll } : {}),
        heldHere: (id) => gateway.session(id) !== undefined,
        // The snapshots dashboards took before the values were read back are stale: they take new ones.
        latestRefreshed: () => dashboards.resyncAll(),
        log: log.child({ part: 'live-relay' }),
      })
    : null;
  /** Presence of devices other nodes hold, read from the cluster store (all, or those ids): what the bus did not bring. */
  const refreshPresence = async (ids?: readonly string[]): Promise<void> => {
    if (!cluster || !relay) return;
    try {
      const rows = ids ? (await cluster.ownership.ownersOf(ids)).values() : await cluster.ownership.all();
      const changed = relay.mirrorStoredPresence(rows, cluster.nodeId);
      if (changed > 0) log.info({ changed }, 'presence of devices on other nodes refreshed from the cluster store');
    } catch (err) {
      log.warn({ err }, 'refreshing presence from the cluster store failed; the next bus resync or registry change tries again');
    }
  };
  const dashboards = new DashboardEndpoint({
    registry,
    // In a cluster dashboards see every node's events; the core bus carries this node's only.
    events: relay ? relay.live : events,
    authenticate: socketAuthenticator(accounts),
    origins: { allowed: config.allowedOrigins, secure: tls !== null },
    maxSubscriptions: config.dashboardMaxSubscriptions,
    maxSocketsPerUser: config.dashboardMaxSocketsPerUser,
    // Other nodes' telemetry is listened to only while a dashboard of this node wants telemetry.
    ...(relay ? { onTelemetryWanted: (on: boolean) => relay.telemetryWanted(on) } : {}),
    log: log.child({ part: 'dashboard' }),
  });
  const startedAt = Date.now();
  // HTTP connections are capped below the descriptor limit, so slow clients cannot take every descriptor (slowloris).
  const httpLimiter = new HttpConnectionLimiter({ maxTotal: config.maxHttpConnections, maxPerIp: config.maxHttpConnectionsPerIp }, log.child({ part: 'http' }));
  const httpTimeouts = httpServerTimeouts(config.httpHeadersTimeoutMs);

  const health = (): HealthResponse => {
    const conns = gateway.countByTransport();
    const store = telemetryStore.status?.() ?? { ok: true };
    return {
      // A fenced node fails its health check, so the balancer sends nobody to it.
      status: store.ok && (!cluster || cluster.state !== 'fenced') ? 'ok' : 'degraded',
      uptimeSec: Math.round((Date.now() - startedAt) / 1000),
      version: HUB_VERSION,
      store: { kind: telemetryStore.kind, ...store },
      devices: { total: registry.size, online: registry.countOnline() },
      connections: { mqtt: conns.mqtt, ws: conns.ws, dashboards: dashboards.connectionCount },
      ...(cluster ? { cluster: { nodeId: cluster.nodeId, state: cluster.state, bus: cluster.bus.status().subscriber } } : {}),
    };
  };
  accounts.onRevoked((origin) => {
    void dashboards.recheck();
    void mqtt.recheckTools();
    // Sockets of that session or token may be open on any node.
    if (origin === 'local') cluster?.bus.publish('accounts', { reason: 'revoked' });
  });
  cluster?.setHandlers({
    remoteEvent: (kind, item) => (kind === 'accounts' ? accounts.revokedElsewhere() : relay?.remote(kind, item)),
    inbox: (item: HubInboxItem) => {
      if (item.type === 'kick') {
        gateway.claimedElsewhere(item.deviceId, Number(item.belowEpoch));
        alertOwners?.release(item.deviceId);
      }
      else if (item.type === 'deliverCommands') void pgCommands?.deliverQueued(item.deviceId);
      else if (item.type === 'desiredChanged') void pgState?.resendDesired(item.deviceId);
      else registrySync?.nudge();
    },
    resync: (event) => {
      // What the bus may have dropped: presence from the cluster store, then dashboards take a new snapshot; the reconcilers and the registry sync run now.
      void refreshPresence().finally(() => dashboards.resyncAll());
      // Readings missed while listening: latest values are read back (and dashboards told again if some changed).
      if (event.kinds.includes('telemetry')) void relay?.refreshLatest();
      registrySync?.nudge();
      void pgCommands?.reconcile();
    },
    offline: (ids, reason) => {
      relay?.offline(ids, reason);
      // The reaper's node judges a lost node's devices (one reaper pass at a time in the cluster); it has their presence first.
      if (reason === NODE_LOST) alertOwners?.adopt(ids).catch((err: unknown) => log.warn({ err }, "taking over a lost node's alerts failed; those devices are judged when they reconnect"));
    },
    claimedFromElsewhere: (id) => registry.reloadWindows(id),
    fence: () => gateway.dropAll(),
    heldEpochs: () => gateway.heldEpochs(),
  });
  const metrics = createMetrics({
    registry,
    gateway,
    pipeline,
    store: telemetryStore,
    mqtt,
    wsDevices,
    dashboards,
    commands,
    state,
    alerting,
    logThrottle,
    uncaught: deps.uncaught,
    cluster: cluster && relay && registrySync ? { node: cluster, relay, registrySync, ...(alertOwners ? { alerts: alertOwners } : {}) } : undefined,
    notify: notify ?? undefined,
    limits: { rateLimiter, guard, unauthenticated, http: httpLimiter, wsProtocolErrors: wsDevices.protocolErrors, logins: loginLimiter, accountLockout, gate, metricNames, proxyProtocol },
  });
  const api = buildApi({
    registry,
    gateway,
    store: telemetryStore,
    commands,
    state,
    audit,
    alerting,
    accounts,
    loginLimiter,
    accountLockout,
    notify,
    secureCookies: tls !== null,
    allowedOrigins: config.allowedOrigins,
    corsOrigins: config.corsOrigins,
    dashboardDir: config.dashboardDir ?? defaultDashboardDir(),
    health,
    metrics,
    timeouts: httpTimeouts,
    log: log.child({ part: 'http' }),
  });
  if (!tls) httpLimiter.attach(api.server, true);
  httpLimiter.watchTimeouts(api.server);
  api.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // First, before any check: Node took its own error listener off this socket (see socket-errors.ts).
    absorbSocketErrors(socket);
    const path = (req.url ?? '').split('?')[0];
    if (path === '/ws/device' || path === '/ws/dashboard') {
      // Upgraded or refused (a refusal has ended the socket): from now on the device or dashboard
      // limits count it, not the HTTP ones. A dashboard is decided once its credential was looked up,
      // and the HTTP limits keep counting it until then.
      const handOver = (): void => {
        if (!socket.writableEnded && !socket.destroyed) httpLimiter.handOver(socket);
      };
      if (path === '/ws/device') {
        wsDevices.handleUpgrade(req, socket, head);
        handOver();
      } else void dashboards.handleUpgrade(req, socket, head).then(handOver);
      return;
    }
    refuseUpgrade(socket, 404, 'not_found', `no WebSocket endpoint at ${path ?? ''}: use /ws/device or /ws/dashboard`);
  });
  // With a certificate the HTTP port speaks only HTTPS (and so WSS).
  const https = tls ? new HttpsListener(api.server, tls, log.child({ part: 'http' }), { ...httpTimeouts, handshakeTimeout: config.authTimeoutMs }, httpLimiter, proxyProtocol) : null;
  /** Plain HTTP behind trusted balancers: the listener in front of the (never listening) API server. */
  let httpFront: NetServer | null = null;

  let httpPort = -1;
  let mqttPort = -1;
  let mqttsPort: number | null = null;
  let started = false;

  return {
    log,
    events,
    get httpPort() {
      return httpPort;
    },
    get mqttPort() {
      return mqttPort;
    },
    get mqttsPort() {
      return mqttsPort;
    },
    get generatedAdminToken() {
      return adminAuth.generatedToken;
    },
    get httpRoutes() {
      return api.routeTable;
    },

    async start() {
      mkdirSync(dataDir, { recursive: true });
      // The schema, the node's lease and the bus come before every store that lives in PostgreSQL.
      await cluster?.start();
      adminAuth = loadAdminAuth(dataDir, config.adminToken);
      await accounts.open();
      await accounts.ensureFirstAdmin(config.adminUser, config.adminPassword);
      await telemetryStore.open();
      await registryStore.open();
      await seqWindowStore.open();
      await registry.start(cluster ? await clusterPresence(cluster) : {});
      await registrySync?.start();
      relay?.start();
      await audit.open();
      await state.open();
      // Pending commands resume (or end, if overdue) before any device connects.
      await commands.open();
      // After the registry (latest values, presence) and commands (actions), before any device connects.
      await alerting.start();
      await alertOwners?.start(alerting);
      logThrottle.start();
      gateway.start();
      gate.start();
      mqttPort = await mqtt.start();
      mqttsPort = mqtt.tlsPort;
      // After the broker (it publishes there); pending webhook deliveries resume.
      await notify?.start();
      wsDevices.start();
      dashboards.start();
      if (https) {
        await api.ready();
        httpPort = await https.listen(config.host, config.httpPort);
      } else if (proxyProtocol) {
        await api.ready();
        httpFront = await listenBehindProxy(api.server, proxyProtocol, 'http', config.host, config.httpPort);
        httpPort = (httpFront.address() as AddressInfo).port;
      } else {
        await api.listen({ host: config.host, port: config.httpPort });
        httpPort = (api.server.address() as AddressInfo).port;
      }
      started = true;
      log.info({ httpPort, mqttPort, ...(https ? { mqttsPort, tls: true } : {}), host: config.host, dataDir, store: telemetryStore.kind, devices: registry.size }, 'hub listening');
    },

    async stop() {
      if (!started) return;
      started = false;
      log.info('hub stopping: no new connections, flushing telemetry');
      mqtt.stopAccepting();
      // Not awaited: its close waits for the sockets it handed over, which the API server drops below.
      httpFront?.close();
      // Connections still waiting for a PROXY header belong to no part yet: dropped here.
      proxyProtocol?.stop();
      // Acknowledge what is in flight before connections close ([G1]).
      await pipeline.stop();
      // Grouped alerts go to the outbox; deliveries in flight get a short grace.
      await notify?.stop();
      await dashboards.stop();
      await wsDevices.stop();
      gateway.stop();
      await mqtt.stop();
      unauthenticated.stop();
      gate.stop();
      await https?.close();
      if (httpFront) api.server.closeAllConnections();
      httpFront = null;
      await api.close();
      alertOwners?.stop();
      await alerting.stop();
      await commands.close();
      await state.close();
      await audit.close();
      relay?.stop();
      await registrySync?.stop();
      await registry.stop();
      await seqWindowStore.close();
      await registryStore.close();
      await accounts.close();
      await telemetryStore.close();
      // Last: the lease ends (the reaper hands on any device left), then the bus and PostgreSQL.
      await cluster?.stop();
      // What was held back goes out now, summed up, before the last line.
      logThrottle.stop();
      log.info('hub stopped');
    },
  };
}
