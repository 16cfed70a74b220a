/**
 * Every hub setting in one table: flag, env var, default, parser, help. The
 * config loader, `--help` and the configuration table of docs/configuration.md come from it.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { MAX_METRICS_PER_SAMPLE, WS_AUTH_TIMEOUT_MS } from '@iot-hub/protocol';
import { softFileDescriptorLimit } from '../net/fd-limit.js';
import { checkTrustedSource } from '../net/proxy-protocol/trusted-sources.js';
import { parseRetention } from '../telemetry/influx/influx-schema.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type StoreKind = 'sqlite' | 'influx';

export interface HubConfig {
  host: string;
  httpPort: number;
  mqttPort: number;
  dataDir: string;
  store: StoreKind;
  influxUrl: string | null;
  /** Points per InfluxDB write request. */
  influxBatchPoints: number;
  /** Longest a point waits in the buffer before a (partial) batch is sent. */
  influxFlushMs: number;
  /** Disk quota of the local buffer in front of InfluxDB, in MiB. */
  influxBufferMaxMb: number;
  /** InfluxDB retention policy durations: raw points, and 1-minute rollups. */
  influxRawRetention: string;
  influxRollupRetention: string;
  adminToken: string | null;
  logLevel: LogLevel;
  /** Log lines one device or remote address may cause per 10 s; the rest are summed up (0 = no cap). */
  logLinesPerSource: number;
  /** Directory of the built dashboard; null serves no static files. */
  dashboardDir: string | null;
  /** Largest device message in bytes, on MQTT and on the device WebSocket. */
  maxPayloadBytes: number;
  /** Unread hub → device data (KiB) a device connection may hold before it is closed. */
  maxDeviceOutboundKb: number;
  /** The hub's public origins, and other pages allowed to open the dashboard socket and send cookie-authenticated changes. */
  allowedOrigins: string[];
  /** Time a device has to answer a sent command, unless the request says otherwise. */
  commandTimeoutMs: number;
  /** How long a command waits for an offline device, unless the request gives `expiresAt`. */
  commandExpirySec: number;
  /** Commands per device that may be pending (queued, sent or acknowledged) at once. */
  maxPendingCommands: number;
  /** Distinct metric names per device: those it has readings for plus those its hello declares [FP-7.3]. */
  maxMetricsPerDevice: number;
  /** PEM certificate chain and key files; both set = HTTPS/WSS and MQTT over TLS. */
  tlsCert: string | null;
  tlsKey: string | null;
  /** MQTT over TLS, opened only with a certificate and key. */
  mqttsPort: number;
  /** Sustained messages per second per device (0 = no limit), and how many it may send at once. */
  deviceRate: number;
  deviceBurst: number;
  /** Push-back: device sockets are not read while the event loop is this late (ms, 0 = off) ... */
  ingestMaxLagMs: number;
  /** ... or while this many device messages are being handled (0 = no cap). */
  ingestMaxInFlight: number;
  /** Authenticated device connections (MQTT + device WebSocket) at most. */
  maxConnections: number;
  /** Time a new device connection has to authenticate (MQTT CONNECT, WebSocket `auth`). */
  authTimeoutMs: number;
  /** Device connections not yet authenticated, in all and from one IP address. */
  maxUnauthenticated: number;
  maxUnauthenticatedPerIp: number;
  /** Open HTTP connections (API, dashboard, WebSocket upgrades not yet done), in all and from one IP (0 = no per-IP cap). */
  maxHttpConnections: number;
  maxHttpConnectionsPerIp: number;
  /** Time an HTTP client has to send a request's headers. */
  httpHeadersTimeoutMs: number;
  /** Load balancers (addresses, CIDR ranges) whose PROXY protocol header is required and believed; empty = off. */
  proxyProtocolFrom: string[];
  /** New device connections per second per client IP (0 = no limit), and how many at once. */
  ipConnectRate: number;
  ipConnectBurst: number;
  /** Attempts of one webhook delivery before it is dead-lettered. */
  webhookMaxAttempts: number;
  /** A login session ends after this many minutes unused, or this many hours after login. */
  sessionIdleMin: number;
  sessionMaxHours: number;
  /** Login attempts per minute from one IP address (0 = no limit). */
  loginRate: number;
  /** Failed logins in a row one account name takes before it is locked (0 = no per-account limit) ... */
  loginAccountFailures: number;
  /** ... for 1, 2, 4 … seconds per further failure, at most this long. */
  loginLockoutMaxSec: number;
  /** Devices one dashboard socket may subscribe to by id ("*" is one subscription whatever the fleet). */
  dashboardMaxSubscriptions: number;
  /** Dashboard sockets one user (or the admin token) may hold open at once. */
  dashboardMaxSocketsPerUser: number;
  /** Origins whose pages may call the HTTP API (CORS); empty = none. */
  corsOrigins: string[];
  /** The first admin account, created at start while there are no users. */
  adminUser: string | null;
  adminPassword: string | null;
  /** Run as one node of a cluster (PostgreSQL, Redis, InfluxDB shared by every node). */
  cluster: boolean;
  /** This node's name in the cluster: unique, the same across its restarts. */
  nodeId: string | null;
  /** The cluster's PostgreSQL and Redis. */
  pgUrl: string | null;
  redisUrl: string | null;
  /** Connections this node keeps to PostgreSQL at most. */
  pgMaxConnections: number;
  /** A node's lease: how long it is trusted after its last renewal. */
  nodeLeaseSec: number;
}

/** Thrown for a bad setting; main prints `message` as one line and exits 2. */
export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    detail: string,
  ) {
    super(`invalid configuration: ${setting}: ${detail}`);
    this.name = 'ConfigError';
  }
}

type Parser<T> = (raw: string) => T;

export interface Setting<K extends keyof HubConfig = keyof HubConfig> {
  key: K;
  flag: string;
  env: string;
  help: string;
  /** Default as the user would type it; null = unset. */
  default: string | null;
  /** A flag without a value (`--cluster`); its env var takes true/false. */
  boolean?: true;
  parse: Parser<HubConfig[K]>;
}

const port: Parser<number> = (raw) => {
  if (!/^\d+$/.test(raw)) throw new Error(`expected a port number 0-65535, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n > 65535) throw new Error(`expected a port number 0-65535, got ${n}`);
  return n;
};

const nonEmpty: Parser<string> = (raw) => {
  if (raw.trim() === '') throw new Error('must not be empty');
  return raw;
};

const oneOf =
  <T extends string>(values: readonly T[]): Parser<T> =>
  (raw) => {
    if (!values.includes(raw as T)) throw new Error(`expected one of ${values.join(', ')}, got ${JSON.stringify(raw)}`);
    return raw as T;
  };

const influxUrl: Parser<string> = (raw) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`not a URL: ${JSON.stringify(raw)} (expected http://[user:pass@]host:8086/database)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`expected an http:// or https:// URL, got ${url.protocol}`);
  }
  if (url.pathname.replace(/^\/+|\/+$/g, '') === '') {
    throw new Error('the URL must name the database in its path, e.g. http://localhost:8086/telemetry');
  }
  return raw;
};

// Browsers send the token as a WebSocket subprotocol (`bearer.{token}`), so
// it must use characters a subprotocol name allows.
const adminToken: Parser<string> = (raw) => {
  if (raw.length < 16) throw new Error('must be at least 16 characters');
  if (!/^[A-Za-z0-9._~-]+$/.test(raw)) throw new Error('may contain only letters, digits and . _ ~ - (try: openssl rand -hex 24)');
  return raw;
};

const bytes: Parser<number> = (raw) => {
  if (!/^\d+$/.test(raw)) throw new Error(`expected a number of bytes, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < 256 || n > 16 * 1024 * 1024) throw new Error(`expected 256..16777216 bytes, got ${n}`);
  return n;
};

const intIn =
  (min: number, max: number, unit: string): Parser<number> =>
  (raw) => {
    if (!/^\d+$/.test(raw)) throw new Error(`expected a whole number of ${unit}, got ${JSON.stringify(raw)}`);
    const n = Number(raw);
    if (n < min || n > max) throw new Error(`expected ${min}..${max} ${unit}, got ${n}`);
    return n;
  };

/** Without a readable descriptor limit, this many HTTP connections at most. */
const DEFAULT_HTTP_CONNECTIONS = 1024;

/**
 * `auto`: a quarter of the soft descriptor limit (RLIMIT_NOFILE), leaving the
 * rest for device connections, the stores and the hub's own files.
 */
const httpConnections: Parser<number> = (raw) => {
  if (raw !== 'auto') return intIn(1, 1_000_000, 'connections')(raw);
  const soft = softFileDescriptorLimit();
  return soft === null ? DEFAULT_HTTP_CONNECTIONS : Math.max(64, Math.floor(soft / 4));
};

const origins: Parser<string[]> = (raw) =>
  raw
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '')
    .map((o) => {
      let url: URL;
      try {
        url = new URL(o);
      } catch {
        throw new Error(`not an origin: ${JSON.stringify(o)} (expected e.g. https://hub.example.com)`);
      }
      return url.origin;
    });

const onOff: Parser<boolean> = (raw) => {
  if (/^(true|1|yes|on)$/i.test(raw)) return true;
  if (/^(false|0|no|off)$/i.test(raw)) return false;
  throw new Error(`expected true or false, got ${JSON.stringify(raw)}`);
};

const nodeId: Parser<string> = (raw) => {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(raw)) throw new Error('1-64 of letters, digits and . _ -, starting with a letter or digit');
  return raw;
};

const urlOf =
  (schemes: readonly string[], example: string): Parser<string> =>
  (raw) => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      // Not echoed: the URL may carry a password.
      throw new Error(`not a URL (expected ${example})`);
    }
    if (!schemes.includes(url.protocol)) throw new Error(`expected ${schemes.map((s) => `${s}//`).join(' or ')}, got ${url.protocol}// (e.g. ${example})`);
    return raw;
  };

const addressList: Parser<string[]> = (raw) =>
  raw
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '')
    .map(checkTrustedSource);

const username: Parser<string> = (raw) => {
  if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(raw)) throw new Error('1-64 of letters, digits and . _ @ -, starting with a letter or digit');
  return raw;
};

const password: Parser<string> = (raw) => {
  if (raw.length < 8) throw new Error('must be at least 8 characters');
  return raw;
};

const pemFile =
  (what: 'certificate' | 'private key'): Parser<string> =>
  (raw) => {
    let pem: Buffer;
    try {
      pem = readFileSync(raw);
    } catch (err) {
      throw new Error(`cannot read ${JSON.stringify(raw)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    try {
      if (what === 'certificate') new X509Certificate(pem);
      else createPrivateKey(pem);
    } catch {
      throw new Error(`${JSON.stringify(raw)} is not a PEM ${what}${what === 'private key' ? ' (or it is encrypted: the hub needs it unencrypted)' : ''}`);
    }
    return raw;
  };

/** Checks that span several settings, after each was parsed on its own. */
export function checkSettings(config: Readonly<HubConfig>): void {
  if (config.store === 'influx' && config.influxUrl === null) {
    throw new ConfigError('--influx-url', 'required when --store is influx (HUB_INFLUX_URL)');
  }
  if ((config.tlsCert === null) !== (config.tlsKey === null)) {
    const missing = config.tlsCert === null ? '--tls-cert' : '--tls-key';
    throw new ConfigError(missing, `required with ${missing === '--tls-cert' ? '--tls-key' : '--tls-cert'}: TLS needs both the certificate and its key`);
  }
  if ((config.adminUser === null) !== (config.adminPassword === null)) {
    const missing = config.adminUser === null ? '--admin-user' : '--admin-password';
    throw new ConfigError(missing, `required with ${missing === '--admin-user' ? '--admin-password' : '--admin-user'}: the first admin needs a name and a password`);
  }
  if (config.cluster) {
    const missing = (['nodeId', 'pgUrl', 'redisUrl'] as const).find((k) => config[k] === null);
    if (missing) {
      const flag = { nodeId: '--node-id', pgUrl: '--pg-url', redisUrl: '--redis-url' }[missing];
      throw new ConfigError(flag, 'required with --cluster: every node needs its own name, the shared PostgreSQL and the shared Redis');
    }
    if (config.store !== 'influx') throw new ConfigError('--store', 'must be influx with --cluster: the nodes share telemetry through InfluxDB');
  }
  if (config.tlsCert !== null && config.tlsKey !== null) {
    const cert = new X509Certificate(readFileSync(config.tlsCert));
    if (!cert.checkPrivateKey(createPrivateKey(readFileSync(config.tlsKey)))) {
      throw new ConfigError('--tls-key', `${JSON.stringify(config.tlsKey)} is not the private key of the certificate in ${JSON.stringify(config.tlsCert)}`);
    }
    if (config.mqttsPort !== 0 && config.mqttsPort === config.mqttPort) {
      throw new ConfigError('--mqtts-port', `${config.mqttsPort} is also --mqtt-port: MQTT and MQTT over TLS need ports of their own`);
    }
  }
}

function setting<K extends keyof HubConfig>(s: Setting<K>): Setting<K> {
  return s;
}

export const SETTINGS = [
  setting({ key: 'host', flag: 'host', env: 'HUB_HOST', default: '127.0.0.1', parse: nonEmpty, help: 'address to listen on (0.0.0.0 for every interface)' }),
  setting({ key: 'httpPort', flag: 'http-port', env: 'HUB_HTTP_PORT', default: '8080', parse: port, help: 'HTTP port: API, dashboard, device and dashboard WebSockets (0 = pick a free one)' }),
  setting({ key: 'mqttPort', flag: 'mqtt-port', env: 'HUB_MQTT_PORT', default: '1883', parse: port, help: 'MQTT port of the embedded broker (0 = pick a free one)' }),
  setting({ key: 'dataDir', flag: 'data-dir', env: 'HUB_DATA_DIR', default: './data', parse: nonEmpty, help: 'directory for the registry, the SQLite telemetry store and the admin token hash' }),
  setting({ key: 'store', flag: 'store', env: 'HUB_STORE', default: 'sqlite', parse: oneOf(['sqlite', 'influx'] as const), help: 'telemetry store: sqlite (embedded) or influx' }),
  setting({ key: 'influxUrl', flag: 'influx-url', env: 'HUB_INFLUX_URL', default: null, parse: influxUrl, help: 'InfluxDB 1.x URL with the database as path: http://[user:pass@]host:8086/db' }),
  setting({ key: 'influxBatchPoints', flag: 'influx-batch-points', env: 'HUB_INFLUX_BATCH_POINTS', default: '5000', parse: intIn(1, 100_000, 'points'), help: 'points per InfluxDB write request' }),
  setting({ key: 'influxFlushMs', flag: 'influx-flush-ms', env: 'HUB_INFLUX_FLUSH_MS', default: '1000', parse: intIn(10, 60_000, 'ms'), help: 'longest a point waits before a smaller batch is sent to InfluxDB' }),
  setting({ key: 'influxBufferMaxMb', flag: 'influx-buffer-max-mb', env: 'HUB_INFLUX_BUFFER_MAX_MB', default: '1024', parse: intIn(1, 1_048_576, 'MiB'), help: 'disk quota of the local buffer in front of InfluxDB; when full, devices are not acknowledged' }),
  setting({ key: 'influxRawRetention', flag: 'influx-raw-retention', env: 'HUB_INFLUX_RAW_RETENTION', default: '30d', parse: parseRetention, help: 'how long InfluxDB keeps raw points (e.g. 720h, 30d, 52w, INF)' }),
  setting({ key: 'influxRollupRetention', flag: 'influx-rollup-retention', env: 'HUB_INFLUX_ROLLUP_RETENTION', default: 'INF', parse: parseRetention, help: 'how long InfluxDB keeps 1-minute min/max/mean rollups' }),
  setting({ key: 'adminToken', flag: 'admin-token', env: 'HUB_ADMIN_TOKEN', default: null, parse: adminToken, help: 'admin bearer token for the API and dashboard (16+ of A-Z a-z 0-9 . _ ~ -); generated at first start and printed once when unset' }),
  setting({ key: 'logLevel', flag: 'log-level', env: 'HUB_LOG_LEVEL', default: 'info', parse: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const), help: 'log level' }),
  setting({ key: 'logLinesPerSource', flag: 'log-lines-per-source', env: 'HUB_LOG_LINES_PER_SOURCE', default: '20', parse: intIn(0, 1_000_000, 'lines'), help: 'log lines one device or remote address may cause per 10 s; the rest are counted and summed up in one line when the 10 s end (0 = no cap)' }),
  setting({ key: 'dashboardDir', flag: 'dashboard-dir', env: 'HUB_DASHBOARD_DIR', default: null, parse: nonEmpty, help: 'directory of the built dashboard (default: dashboard/dist of this install)' }),
  setting({ key: 'maxPayloadBytes', flag: 'max-payload-bytes', env: 'HUB_MAX_PAYLOAD_BYTES', default: '65536', parse: bytes, help: 'largest device message accepted, MQTT and WebSocket' }),
  setting({ key: 'maxDeviceOutboundKb', flag: 'max-device-outbound-kb', env: 'HUB_MAX_DEVICE_OUTBOUND_KB', default: '1024', parse: intIn(1, 1_048_576, 'KiB'), help: 'hub → device data (acks, errors, commands, desired state) a device may leave unread, in KiB; past it the connection is closed (WebSocket 1008)' }),
  setting({ key: 'commandTimeoutMs', flag: 'command-timeout-ms', env: 'HUB_COMMAND_TIMEOUT_MS', default: '30000', parse: intIn(100, 3_600_000, 'ms'), help: 'time a device has to answer a command once sent, unless the request gives timeoutMs' }),
  setting({ key: 'commandExpirySec', flag: 'command-expiry-sec', env: 'HUB_COMMAND_EXPIRY_SEC', default: '3600', parse: intIn(1, 30 * 24 * 3600, 's'), help: 'how long a command waits for an offline device, unless the request gives expiresAt' }),
  setting({ key: 'maxPendingCommands', flag: 'max-pending-commands', env: 'HUB_MAX_PENDING_COMMANDS', default: '100', parse: intIn(1, 100_000, 'commands'), help: 'commands per device that may be waiting or running at once; more get 429 queue_full' }),
  setting({ key: 'maxMetricsPerDevice', flag: 'max-metrics-per-device', env: 'HUB_MAX_METRICS_PER_DEVICE', default: '256', parse: intIn(MAX_METRICS_PER_SAMPLE, 100_000, 'metric names'), help: `distinct metric names per device (readings plus hello declarations, at least ${MAX_METRICS_PER_SAMPLE} so a hello always fits); past it telemetry and hello are refused with too_many_metrics` }),
  setting({ key: 'tlsCert', flag: 'tls-cert', env: 'HUB_TLS_CERT', default: null, parse: pemFile('certificate'), help: 'PEM certificate file (server certificate, then intermediates); with --tls-key the HTTP port serves HTTPS/WSS and MQTT over TLS opens on --mqtts-port' }),
  setting({ key: 'tlsKey', flag: 'tls-key', env: 'HUB_TLS_KEY', default: null, parse: pemFile('private key'), help: 'PEM private key file of --tls-cert (unencrypted)' }),
  setting({ key: 'mqttsPort', flag: 'mqtts-port', env: 'HUB_MQTTS_PORT', default: '8883', parse: port, help: 'MQTT over TLS port, opened only with --tls-cert and --tls-key (0 = pick a free one)' }),
  setting({ key: 'deviceRate', flag: 'device-rate', env: 'HUB_DEVICE_RATE', default: '100', parse: intIn(0, 1_000_000, 'messages/s'), help: 'messages per second a device may send, sustained (0 = no limit); acknowledged ones wait, others are dropped with rate_limited' }),
  setting({ key: 'deviceBurst', flag: 'device-burst', env: 'HUB_DEVICE_BURST', default: '200', parse: intIn(1, 1_000_000, 'messages'), help: 'messages a device may send at once after a quiet spell, above --device-rate' }),
  setting({ key: 'ingestMaxLagMs', flag: 'ingest-max-lag-ms', env: 'HUB_INGEST_MAX_LAG_MS', default: '50', parse: intIn(0, 10_000, 'ms'), help: 'push-back: once the event loop has been busy this long without a break, device sockets are not read until it catches up (0 = off)' }),
  setting({ key: 'ingestMaxInFlight', flag: 'ingest-max-in-flight', env: 'HUB_INGEST_MAX_IN_FLIGHT', default: '5000', parse: intIn(0, 10_000_000, 'messages'), help: 'push-back: while this many device messages are being handled, device sockets are not read until half are done (0 = no cap)' }),
  setting({ key: 'maxConnections', flag: 'max-connections', env: 'HUB_MAX_CONNECTIONS', default: '10000', parse: intIn(1, 1_000_000, 'connections'), help: 'authenticated device connections (MQTT + device WebSocket) at most; more are refused (CONNACK 3, HTTP 503, or close 1013 after a WebSocket auth frame)' }),
  setting({ key: 'authTimeoutMs', flag: 'auth-timeout-ms', env: 'HUB_AUTH_TIMEOUT_MS', default: String(WS_AUTH_TIMEOUT_MS), parse: intIn(500, 60_000, 'ms'), help: 'time a new device connection has to authenticate (MQTT CONNECT, TLS handshake, WebSocket auth frame); then it is closed' }),
  setting({ key: 'maxUnauthenticated', flag: 'max-unauthenticated', env: 'HUB_MAX_UNAUTHENTICATED', default: '1000', parse: intIn(1, 1_000_000, 'connections'), help: 'device connections not yet authenticated, from all addresses; past it a new one closes the oldest. Apart from --max-connections' }),
  setting({ key: 'maxUnauthenticatedPerIp', flag: 'max-unauthenticated-per-ip', env: 'HUB_MAX_UNAUTHENTICATED_PER_IP', default: '100', parse: intIn(1, 1_000_000, 'connections'), help: 'device connections not yet authenticated from one IP address; more are refused (CONNACK 3, HTTP 429)' }),
  setting({ key: 'ipConnectRate', flag: 'ip-connect-rate', env: 'HUB_IP_CONNECT_RATE', default: '100', parse: intIn(0, 1_000_000, 'connections/s'), help: 'new device connections per second from one IP address (0 = no limit); more are refused (CONNACK 3, HTTP 429)' }),
  setting({ key: 'ipConnectBurst', flag: 'ip-connect-burst', env: 'HUB_IP_CONNECT_BURST', default: '1000', parse: intIn(1, 1_000_000, 'connections'), help: 'new device connections one IP address may open at once, above --ip-connect-rate' }),
  setting({ key: 'dashboardMaxSubscriptions', flag: 'dashboard-max-subscriptions', env: 'HUB_DASHBOARD_MAX_SUBSCRIPTIONS', default: '1000', parse: intIn(1, 1_000_000, 'devices'), help: 'devices one dashboard socket may subscribe to by id ("*" counts as one); more get too_many_subscriptions' }),
  setting({ key: 'dashboardMaxSocketsPerUser', flag: 'dashboard-max-sockets-per-user', env: 'HUB_DASHBOARD_MAX_SOCKETS_PER_USER', default: '32', parse: intIn(1, 100_000, 'sockets'), help: 'dashboard sockets one user (all their API tokens and sessions, or the admin token) may hold open; more are refused with 429 too_many_sockets' }),
  setting({ key: 'maxHttpConnections', flag: 'max-http-connections', env: 'HUB_MAX_HTTP_CONNECTIONS', default: 'auto', parse: httpConnections, help: 'open HTTP connections at most, from all addresses; more are answered 503 and closed. auto = a quarter of the soft open-files limit (ulimit -n), or 1024 if it cannot be read' }),
  setting({ key: 'maxHttpConnectionsPerIp', flag: 'max-http-connections-per-ip', env: 'HUB_MAX_HTTP_CONNECTIONS_PER_IP', default: '64', parse: intIn(0, 1_000_000, 'connections'), help: 'open HTTP connections at most from one IP address (0 = no limit; raise it behind a reverse proxy); more are answered 429 and closed' }),
  setting({ key: 'httpHeadersTimeoutMs', flag: 'http-headers-timeout-ms', env: 'HUB_HTTP_HEADERS_TIMEOUT_MS', default: '10000', parse: intIn(1000, 300_000, 'ms'), help: 'time an HTTP client has to send the headers of a request (then 408 and closed); a whole request has max(30 s, this)' }),
  setting({ key: 'proxyProtocolFrom', flag: 'proxy-protocol-from', env: 'HUB_PROXY_PROTOCOL_FROM', default: '', parse: addressList, help: 'comma-separated addresses or CIDR ranges of load balancers (e.g. 10.0.0.5,10.1.0.0/16); a connection from one must start with a PROXY protocol v2 (or v1) header, whose client address the limits, logs and audit then see. Empty = off: no header is read' }),
  setting({ key: 'allowedOrigins', flag: 'allowed-origins', env: 'HUB_ALLOWED_ORIGINS', default: '', parse: origins, help: 'comma-separated public origins of the hub (scheme://host[:port]) and other pages allowed to open the dashboard socket and to send cookie-authenticated changes; once set, a hub reached by a DNS name must be listed' }),
  setting({ key: 'corsOrigins', flag: 'cors-origins', env: 'HUB_CORS_ORIGINS', default: '', parse: origins, help: 'comma-separated origins whose pages may call the HTTP API with a bearer token (CORS; off when empty)' }),
  setting({ key: 'webhookMaxAttempts', flag: 'webhook-max-attempts', env: 'HUB_WEBHOOK_MAX_ATTEMPTS', default: '10', parse: intIn(1, 100, 'attempts'), help: 'attempts of one alert webhook delivery (retried after 1, 2, 4 … s, at most 60 s apart, for at most an hour) before it is dead-lettered' }),
  setting({ key: 'sessionIdleMin', flag: 'session-idle-min', env: 'HUB_SESSION_IDLE_MIN', default: '720', parse: intIn(1, 525_600, 'minutes'), help: 'a login session ends after this many minutes without a request' }),
  setting({ key: 'sessionMaxHours', flag: 'session-max-hours', env: 'HUB_SESSION_MAX_HOURS', default: '168', parse: intIn(1, 8760, 'hours'), help: 'a login session ends this many hours after login, used or not' }),
  setting({ key: 'loginRate', flag: 'login-rate', env: 'HUB_LOGIN_RATE', default: '10', parse: intIn(0, 100_000, 'attempts/min'), help: 'login attempts per minute from one IP address (0 = no limit); more get 429' }),
  setting({ key: 'loginAccountFailures', flag: 'login-account-failures', env: 'HUB_LOGIN_ACCOUNT_FAILURES', default: '5', parse: intIn(0, 1000, 'failures'), help: 'failed logins in a row to one account name, from any address, before each further failure locks it (0 = no per-account limit); locked tries get 429' }),
  setting({ key: 'loginLockoutMaxSec', flag: 'login-lockout-max-sec', env: 'HUB_LOGIN_LOCKOUT_MAX_SEC', default: '300', parse: intIn(1, 3600, 's'), help: 'longest lock of an account name after failed logins; locks grow 1, 2, 4 … s per failure up to this' }),
  setting({ key: 'adminUser', flag: 'admin-user', env: 'HUB_ADMIN_USER', default: null, parse: username, help: 'with --admin-password: creates this admin account at start when there are no users yet' }),
  setting({ key: 'adminPassword', flag: 'admin-password', env: 'HUB_ADMIN_PASSWORD', default: null, parse: password, help: 'password of --admin-user (8+ characters); prefer the env var to the flag, which other local users can see' }),
  setting({ key: 'cluster', flag: 'cluster', env: 'HUB_CLUSTER', default: 'false', boolean: true, parse: onOff, help: 'run as one node of a cluster: PostgreSQL keeps every record, Redis carries messages between nodes, InfluxDB the telemetry; needs --node-id, --pg-url, --redis-url and --store influx' }),
  setting({ key: 'nodeId', flag: 'node-id', env: 'HUB_NODE_ID', default: null, parse: nodeId, help: "this node's name in the cluster (1-64 of letters, digits . _ -): unique per node and the same across its restarts" }),
  setting({ key: 'pgUrl', flag: 'pg-url', env: 'HUB_PG_URL', default: null, parse: urlOf(['postgres:', 'postgresql:'], 'postgres://hub:secret@db:5432/hub'), help: "the cluster's PostgreSQL; prefer the env var to the flag, which other local users can see" }),
  setting({ key: 'redisUrl', flag: 'redis-url', env: 'HUB_REDIS_URL', default: null, parse: urlOf(['redis:', 'rediss:'], 'redis://:secret@bus:6379'), help: "the cluster's Redis (a message bus only: it holds nothing durable); prefer the env var to the flag" }),
  setting({ key: 'pgMaxConnections', flag: 'pg-max-connections', env: 'HUB_PG_MAX_CONNECTIONS', default: '10', parse: intIn(2, 1000, 'connections'), help: "connections this node keeps to PostgreSQL at most; PostgreSQL's max_connections must cover every node's" }),
  setting({ key: 'nodeLeaseSec', flag: 'node-lease-sec', env: 'HUB_NODE_LEASE_SEC', default: '10', parse: intIn(2, 300, 's'), help: 'a node renews its lease every fifth of this; a node that died has its devices marked offline (node-lost) within this plus half of it; one that cannot renew for half of it drops its device connections' }),
] as const;
