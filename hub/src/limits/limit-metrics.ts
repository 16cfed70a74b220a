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
import type { LoginLimiter } from './login-limiter.js';
import type { MetricNameLimit } from '../registry/metric-names.js';

export interface LimitMetricSources {
  rateLimiter: Pick<DeviceRateLimiter, 'counters'>;
  guard: Pick<ConnectionGuard, 'refused'>;
  /** Device WebSocket closes by ws error code (WS_ERR_INVALID_UTF8 …). */
  wsProtocolErrors: ReadonlyMap<string, number>;
  /** Operator logins by outcome; absent, not exported. */
  logins?: Pick<LoginLimiter, 'counters'>;
  /** Global push-back; absent, not exported. */
  gate?: Pick<IngestGate, 'counters' | 'inFlight' | 'waitingSockets' | 'pausedSeconds'>;
  /** Messages refused for the per-device limit of metric names; absent, not exported. */
  metricNames?: Pick<MetricNameLimit, 'refused'>;
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
    help: 'Device connections refused before authentication: at --max-connections or over --ip-connect-rate (MQTT CONNACK 3, WebSocket 503/429)',
    labelNames: ['transport', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [transport, reasons] of Object.entries(src.guard.refused)) {
        for (const [reason, n] of Object.entries(reasons)) this.inc({ transport, reason: reason.replace('-', '_') }, n);
      }
    },
  });
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
  if (logins) {
    new Counter({
      name: 'iot_hub_login_attempts_total',
      help: 'Operator login attempts by outcome: ok, failed (unknown user or wrong password) or rate_limited (over --login-rate from one IP, 429)',
      labelNames: ['outcome'],
      registers: [registry],
      collect() {
        this.reset();
        this.inc({ outcome: 'ok' }, logins.counters.ok);
        this.inc({ outcome: 'failed' }, logins.counters.failed);
        this.inc({ outcome: 'rate_limited' }, logins.counters.rateLimited);
      },
    });
  }
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
