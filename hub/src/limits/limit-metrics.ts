/**
 * /metrics for the device-side limits: messages held back or dropped by the
 * per-device rate, connections refused at the door, and device sockets
 * closed for breaking the WebSocket protocol, operator login attempts, and
 * the global push-back (device sockets not read while the hub is behind).
 * Read at scrape time.
 */
import { Counter, Gauge, type Registry as PromRegistry } from 'prom-client';
import type { ConnectionGuard } from './connection-guard.js';
import type { DeviceRateLimiter } from './device-rate-limiter.js';
import type { IngestGate } from './ingest-gate.js';
import type { AccountLockout } from './account-lockout.js';
import type { HttpConnectionLimiter } from '../net/http-connection-limiter.js';
import type { LoginLimiter } from './login-limiter.js';
import type { UnauthenticatedConnections } from './unauthenticated-connections.js';
import type { MetricNameLimit } from '../registry/metric-names.js';
import type { ProxyProtocol } from '../net/proxy-protocol/proxy-protocol.js';

export interface LimitMetricSources {
  rateLimiter: Pick<DeviceRateLimiter, 'counters'>;
  guard: Pick<ConnectionGuard, 'refused'>;
  /** Connections not yet authenticated; absent, not exported. */
  unauthenticated?: Pick<UnauthenticatedConnections, 'counters' | 'size'>;
  /** HTTP connections open and refused; absent, not exported. */
  http?: Pick<HttpConnectionLimiter, 'counters' | 'size' | 'timeouts'>;
  /** Device WebSocket closes by ws error code (WS_ERR_INVALID_UTF8 …). */
  wsProtocolErrors: ReadonlyMap<string, number>;
  /** Operator logins by outcome; absent, not exported. */
  logins?: Pick<LoginLimiter, 'counters'>;
  /** Per-account login locks; absent, not exported. */
  accountLockout?: Pick<AccountLockout, 'counters' | 'lockedCount'>;
  /** Global push-back; absent, not exported. */
  gate?: Pick<IngestGate, 'counters' | 'inFlight' | 'waitingSockets' | 'pausedSeconds'>;
  /** Messages refused for the per-device limit of metric names; absent, not exported. */
  metricNames?: Pick<MetricNameLimit, 'refused'>;
  /** PROXY protocol headers taken and refused (--proxy-protocol-from); absent, not exported. */
  proxyProtocol?: Pick<ProxyProtocol, 'counters'> | undefined;
}

export function registerLimitMetrics(registry: PromRegistry, src: LimitMetricSources): void {
  new Counter({
    name: 'iot_hub_device_rate_limited_total',
    help: 'Device messages over the per-device rate: delayed (acknowledged ones, the socket is not read meanwhile) or dropped (the rest, rate_limited)',
    labelNames: ['action'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ action: 'delayed' }, src.rateLimiter.counters.delayed);
      this.inc({ action: 'dropped' }, src.rateLimiter.counters.dropped);
    },
  });
  new Counter({
    name: 'iot_hub_connections_refused_total',
    help: 'Device connections refused: at --max-connections, over --ip-connect-rate, or past --max-unauthenticated-per-ip (MQTT CONNACK 3, WebSocket 503/429, or close 1013 after auth)',
    labelNames: ['transport', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [transport, reasons] of Object.entries(src.guard.refused)) {
        for (const [reason, n] of Object.entries(reasons)) this.inc({ transport, reason: reason.replace('-', '_') }, n);
      }
      for (const [transport, n] of Object.entries(src.unauthenticated?.counters.refused ?? {})) this.inc({ transport, reason: 'unauthenticated_per_ip' }, n);
    },
  });
  const unauthenticated = src.unauthenticated;
  if (unauthenticated) registerUnauthenticatedMetrics(registry, unauthenticated);
  const http = src.http;
  if (http) {
    new Gauge({
      name: 'iot_hub_http_connections',
      help: 'Open HTTP connections (not counting those upgraded to WebSockets); capped by --max-http-connections',
      registers: [registry],
      collect() {
        this.set(http.size);
      },
    });
    new Counter({
      name: 'iot_hub_http_connections_refused_total',
      help: 'HTTP connections refused: per_ip (--max-http-connections-per-ip, 429) or total (--max-http-connections, 503)',
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(http.counters)) this.inc({ reason }, n);
      },
    });
    new Counter({
      name: 'iot_hub_http_request_timeouts_total',
      help: 'HTTP requests closed with 408: headers not within --http-headers-timeout-ms, or the whole request not within 30 s',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(http.timeouts);
      },
    });
  }
  new Counter({
    name: 'iot_hub_ws_protocol_errors_total',
    help: 'Device WebSockets closed for breaking the WebSocket protocol, by ws error code (invalid UTF-8 1007, too many fragments 1008, RSV1 without compression 1002, ...)',
    labelNames: ['code'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [code, n] of src.wsProtocolErrors) this.inc({ code }, n);
    },
  });
  const gate = src.gate;
  if (gate) registerGateMetrics(registry, gate);
  const proxyProtocol = src.proxyProtocol;
  if (proxyProtocol) registerProxyMetrics(registry, proxyProtocol);
  const metricNames = src.metricNames;
  if (metricNames) {
    new Counter({
      name: 'iot_hub_metric_names_refused_total',
      help: 'Device messages refused with too_many_metrics: a telemetry message naming a metric past --max-metrics-per-device, or a hello declaring more than fit',
      labelNames: ['message'],
      registers: [registry],
      collect() {
        this.reset();
        this.inc({ message: 'telemetry' }, metricNames.refused.telemetry);
        this.inc({ message: 'hello' }, metricNames.refused.hello);
      },
    });
  }
  const logins = src.logins;
  const lockout = src.accountLockout;
  if (logins) {
    new Counter({
      name: 'iot_hub_login_attempts_total',
      help: 'Operator login attempts by outcome: ok, failed (unknown user or wrong password), rate_limited (over --login-rate from one IP, 429) or account_locked (the name is locked after --login-account-failures failures, 429)',
      labelNames: ['outcome'],
      registers: [registry],
      collect() {
        this.reset();
        this.inc({ outcome: 'ok' }, logins.counters.ok);
        this.inc({ outcome: 'failed' }, logins.counters.failed);
        this.inc({ outcome: 'rate_limited' }, logins.counters.rateLimited);
        if (lockout) this.inc({ outcome: 'account_locked' }, lockout.counters.refused);
      },
    });
  }
  if (lockout) registerLockoutMetrics(registry, lockout);
}

function registerUnauthenticatedMetrics(registry: PromRegistry, src: NonNullable<LimitMetricSources['unauthenticated']>): void {
  new Gauge({
    name: 'iot_hub_unauthenticated_connections',
    help: 'Device connections open and not yet authenticated (bounded by --max-unauthenticated)',
    registers: [registry],
    collect() {
      this.set(src.size);
    },
  });
  new Counter({
    name: 'iot_hub_unauthenticated_closed_total',
    help: 'Device connections closed before authenticating: timeout (nothing within --auth-timeout-ms) or evicted (the oldest, past --max-unauthenticated)',
    labelNames: ['transport', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [transport, n] of Object.entries(src.counters.timedOut)) this.inc({ transport, reason: 'timeout' }, n);
      for (const [transport, n] of Object.entries(src.counters.evicted)) this.inc({ transport, reason: 'evicted' }, n);
    },
  });
}

function registerGateMetrics(registry: PromRegistry, gate: NonNullable<LimitMetricSources['gate']>): void {
  new Counter({
    name: 'iot_hub_ingest_paused_total',
    help: 'Times the hub stopped reading device sockets because it was behind: lag (event loop busy past --ingest-max-lag-ms) or in_flight (--ingest-max-in-flight messages being handled)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(gate.counters.pauses)) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: 'iot_hub_ingest_paused_seconds_total',
    help: 'Time during which at least one device socket waited to be read because the hub was behind',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(gate.pausedSeconds);
    },
  });
  new Gauge({
    name: 'iot_hub_ingest_in_flight',
    help: 'Device messages read and not yet handled (stored or refused); reading stops at --ingest-max-in-flight',
    registers: [registry],
    collect() {
      this.set(gate.inFlight);
    },
  });
  new Gauge({
    name: 'iot_hub_ingest_in_flight_max',
    help: 'The highest number of device messages in flight at once since the hub started',
    registers: [registry],
    collect() {
      this.set(gate.counters.maxInFlightSeen);
    },
  });
  new Gauge({
    name: 'iot_hub_ingest_waiting_sockets',
    help: 'Device sockets waiting to be read because the hub is behind',
    registers: [registry],
    collect() {
      this.set(gate.waitingSockets);
    },
  });
}

function registerLockoutMetrics(registry: PromRegistry, lockout: NonNullable<LimitMetricSources['accountLockout']>): void {
  new Counter({
    name: 'iot_hub_login_account_locks_total',
    help: 'Times an account name was locked after failed logins in a row (--login-account-failures, up to --login-lockout-max-sec)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(lockout.counters.locks);
    },
  });
  new Gauge({
    name: 'iot_hub_login_locked_accounts',
    help: 'Account names locked right now after failed logins',
    registers: [registry],
    collect() {
      this.set(lockout.lockedCount());
    },
  });
}

function registerProxyMetrics(registry: PromRegistry, proxy: NonNullable<LimitMetricSources['proxyProtocol']>): void {
  new Counter({
    name: 'iot_hub_proxy_protocol_headers_total',
    help: 'PROXY protocol headers taken from trusted balancers: proxy (the client address is used) or local (health checks; the balancer address is kept)',
    labelNames: ['command'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [command, n] of Object.entries(proxy.counters.accepted)) this.inc({ command }, n);
    },
  });
  new Counter({
    name: 'iot_hub_proxy_protocol_refused_total',
    help: 'Connections from trusted balancers closed before their PROXY protocol header was taken: missing, malformed, oversized (over 536 bytes), timeout (not complete within 5 s) or busy (1,024 already waiting)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(proxy.counters.refused)) this.inc({ reason }, n);
    },
  });
}
