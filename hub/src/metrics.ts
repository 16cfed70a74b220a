/**
 * Prometheus metrics (prom-client). Gauges read the parts' own counters at
 * scrape time, so the hot paths pay nothing for being measured; process
 * metrics (CPU, memory, event-loop lag) come from prom-client's defaults.
 */
import { Counter, Gauge, Histogram, Registry as PromRegistry, collectDefaultMetrics } from 'prom-client';
import type { Alerting } from './alerts/alerting.js';
import { registerAlertMetrics } from './alerts/alert-metrics.js';
import { registerNotifyMetrics, type NotifyMetricSources } from './alerts/notify/notify-metrics.js';
import type { Commands } from './commands/commands.js';
import type { DeviceGateway } from './core/device-gateway.js';
import type { DashboardEndpoint } from './live/dashboard-endpoint.js';
import type { LogThrottle } from './limits/log-throttle.js';
import { registerLimitMetrics, type LimitMetricSources } from './limits/limit-metrics.js';
import { registerClusterMetrics, type ClusterMetricSources } from './cluster/cluster-metrics.js';
import type { Registry } from './registry/registry.js';
import type { DeviceStates } from './state/device-states.js';
import type { TelemetryPipeline } from './telemetry/pipeline.js';
import type { TelemetryStore } from './telemetry/telemetry-store.js';
import type { UncaughtErrors } from './process-guard.js';
import type { MqttTransport } from './transports/mqtt/mqtt-transport.js';
import type { WsDeviceEndpoint } from './transports/ws/ws-device-endpoint.js';

export interface MetricSources {
  registry: Registry;
  gateway: DeviceGateway;
  pipeline: TelemetryPipeline;
  /** Its status() buffer (InfluxDB mode) is exported as gauges when present. */
  store: Pick<TelemetryStore, 'status'>;
  mqtt: MqttTransport;
  wsDevices: WsDeviceEndpoint;
  dashboards: DashboardEndpoint;
  /** Commands by state and device results by disposition; absent, those metrics are not exported. */
  commands?: Pick<Commands, 'countByState' | 'resultCounts'>;
  /** Desired-state refusals by devices and desired messages held back for size; absent, not exported. */
  state?: Pick<DeviceStates, 'counters'>;
  /** Log lines held back per device / address; absent, not exported. */
  logThrottle?: Pick<LogThrottle, 'counters'>;
  /** Device rate limit, connection admission and WebSocket protocol errors; absent, not exported. */
  limits?: LimitMetricSources;
  /** Errors caught by the process guard (main.ts); absent, not exported. */
  uncaught?: UncaughtErrors | undefined;
  /** Rules, alerts, transitions and actions; absent (alerting off), not exported. */
  alerting?: Alerting | null;
  /** Cluster mode: the bus, claims and fencing, the PostgreSQL pool, the relay and the registry sync; absent, not exported. */
  cluster?: ClusterMetricSources | undefined;
  /** Alert notifications (single-node hubs); absent, not exported. */
  notify?: NotifyMetricSources | undefined;
}

export interface HubMetrics {
  contentType: string;
  render(): Promise<string>;
}

/** A counter whose value is read from a part at scrape time. */
function counterFrom(registry: PromRegistry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

export function createMetrics(src: MetricSources): HubMetrics {
  const registry = new PromRegistry();
  collectDefaultMetrics({ register: registry, prefix: 'iot_hub_' });
  // Before the gauges that query PostgreSQL at scrape time (iot_hub_commands): metrics are collected in
  // registration order, so the pool gauges see the pool as it was, not the scrape's own queries waiting.
  if (src.cluster) registerClusterMetrics(registry, src.cluster);

  new Gauge({
    name: 'iot_hub_devices',
    help: 'Provisioned devices by presence status',
    labelNames: ['presence'],
    registers: [registry],
    collect() {
      const counts = { online: 0, offline: 0, unknown: 0 };
      for (const d of src.registry.all()) counts[d.presence.status] += 1;
      for (const [presence, n] of Object.entries(counts)) this.set({ presence }, n);
    },
  });
  new Gauge({
    name: 'iot_hub_connections',
    help: 'Open connections by kind',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const devices = src.gateway.countByTransport();
      this.set({ kind: 'mqtt' }, devices.mqtt);
      this.set({ kind: 'ws' }, devices.ws);
      this.set({ kind: 'dashboard' }, src.dashboards.connectionCount);
    },
  });
  new Counter({
    name: 'iot_hub_device_errors_total',
    help: 'Protocol errors sent to devices, by error code (see firmware-protocol.md FP-8)',
    labelNames: ['code'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [code, n] of src.gateway.errorCounts) this.inc({ code }, n);
    },
  });
  new Counter({
    name: 'iot_hub_device_messages_total',
    help: 'Device messages: in = device → hub messages handled, out = hub → device messages sent (acks, errors, commands, desired state)',
    labelNames: ['direction', 'transport'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [direction, byTransport] of Object.entries(src.gateway.messageCounts)) {
        for (const [transport, n] of Object.entries(byTransport)) this.inc({ direction, transport }, n);
      }
    },
  });
  new Counter({
    name: 'iot_hub_device_outbound_overflows_total',
    help: 'Device connections closed because their unread outbound data passed --max-device-outbound-kb',
    labelNames: ['transport'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ transport: 'mqtt' }, src.mqtt.counters.outboundOverflows);
      this.inc({ transport: 'ws' }, src.wsDevices.counters.outboundOverflows);
    },
  });
  const writeSeconds = new Histogram({
    name: 'iot_hub_telemetry_write_seconds',
    help: 'Duration of each group-commit write to the telemetry store (ok or failed)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
    registers: [registry],
  });
  src.pipeline.onWrite = (seconds) => writeSeconds.observe(seconds);
  // Only stores with a local buffer (InfluxDB) report one; the others export no buffer gauges.
  if (src.store.status?.().buffer) {
    new Gauge({
      name: 'iot_hub_telemetry_buffer_points',
      help: 'Points waiting in the durable local buffer in front of InfluxDB',
      registers: [registry],
      collect() {
        this.set(src.store.status?.().buffer?.points ?? 0);
      },
    });
    new Gauge({
      name: 'iot_hub_telemetry_buffer_bytes',
      help: 'Bytes of the durable local buffer in front of InfluxDB (quota: --influx-buffer-max-mb)',
      registers: [registry],
      collect() {
        this.set(src.store.status?.().buffer?.bytes ?? 0);
      },
    });
  }
  const commands = src.commands;
  if (commands) {
    new Gauge({
      name: 'iot_hub_commands',
      help: 'Commands by state (pending ones, and every ended one in the store)',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        // Counted by the store (a query on PostgreSQL): while it cannot answer, the last counts stay.
        const counts = await commands.countByState().catch(() => null);
        if (counts) for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    new Counter({
      name: 'iot_hub_command_results_total',
      help: 'Command results from devices by status, and whether they were applied, repeats, late (command already ended) or ignored (unknown id)',
      labelNames: ['status', 'disposition'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [key, n] of commands.resultCounts) {
          const [disposition = '', status = ''] = key.split(':');
          this.inc({ status, disposition }, n);
        }
      },
    });
  }
  if (src.alerting) registerAlertMetrics(registry, src.alerting);
  const state = src.state;
  if (state) {
    counterFrom(registry, 'iot_hub_desired_refused_total', 'Desired state keys devices refused to apply (state.refused), each refusal once', () => state.counters.desiredRefused);
    counterFrom(
      registry,
      'iot_hub_device_messages_too_large_total',
      'Desired state messages not sent to a device because they are larger than its hello.maxMessageBytes',
      () => state.counters.tooLargeForDevice,
    );
  }
  new Counter({
    name: 'iot_hub_dashboard_refused_total',
    help: 'Dashboard requests and sockets refused by the viewer limits: unknown_device (subscribe to an id that does not exist), too_many_subscriptions (--dashboard-max-subscriptions), too_many_sockets (--dashboard-max-sockets-per-user)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(src.dashboards.limits.refused)) this.inc({ reason }, n);
    },
  });
  counterFrom(registry, 'iot_hub_telemetry_points_written_total', 'Telemetry values durably written (acknowledged to devices)', () => src.pipeline.written);
  counterFrom(registry, 'iot_hub_telemetry_write_failures_total', 'Store writes that failed (devices were not acknowledged)', () => src.pipeline.failedWrites);
  counterFrom(registry, 'iot_hub_mqtt_oversized_packets_total', 'MQTT connections closed for a packet over the size limit', () => src.mqtt.counters.oversizedPackets);
  counterFrom(registry, 'iot_hub_mqtt_refused_connects_total', 'MQTT connections refused (bad credentials or client id)', () => src.mqtt.counters.refusedConnects);
  counterFrom(registry, 'iot_hub_mqtt_dropped_publishes_total', 'MQTT publishes dropped (bad topic or payload)', () => src.mqtt.counters.droppedPublishes);
  counterFrom(registry, 'iot_hub_mqtt_refused_subscriptions_total', 'MQTT subscriptions refused with SUBACK 0x80', () => src.mqtt.counters.refusedSubscriptions);
  new Gauge({
    name: 'iot_hub_mqtt_tool_connections',
    help: 'MQTT connections of tools logged in with an API token (username $api): they read alerts/#, and are not devices',
    registers: [registry],
    collect() {
      this.set(src.mqtt.toolCount);
    },
  });
  counterFrom(registry, 'iot_hub_ws_refused_upgrades_total', 'Device WebSocket upgrades or auth frames refused', () => src.wsDevices.counters.refusedUpgrades);
  counterFrom(registry, 'iot_hub_ws_oversized_frames_total', 'Device WebSocket frames over the size limit (closed with 1009)', () => src.wsDevices.counters.oversizedFrames);
  counterFrom(registry, 'iot_hub_dashboard_refused_upgrades_total', 'Dashboard sockets refused (token or origin)', () => src.dashboards.counters.refusedUpgrades);
  counterFrom(registry, 'iot_hub_dashboard_dropped_events_total', 'Telemetry events dropped for dashboards that read too slowly', () => src.dashboards.counters.droppedEvents);
  counterFrom(registry, 'iot_hub_dashboard_slow_disconnects_total', 'Dashboards disconnected past the buffer cap', () => src.dashboards.counters.slowDisconnects);

  const logThrottle = src.logThrottle;
  if (logThrottle) {
    counterFrom(registry, 'iot_hub_log_lines_suppressed_total', 'Log lines about one device or remote address past --log-lines-per-source per 10 s: not written, summed up in one line per source and window', () => logThrottle.counters.suppressed);
  }
  if (src.limits) registerLimitMetrics(registry, src.limits);
  if (src.notify) registerNotifyMetrics(registry, src.notify);
  const uncaught = src.uncaught;
  if (uncaught) {
    new Counter({
      name: 'iot_hub_uncaught_errors_total',
      help: 'Exceptions and promise rejections nothing handled, logged by the process guard instead of ending the process (each is a bug)',
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [kind, n] of Object.entries(uncaught.counts)) this.inc({ kind }, n);
      },
    });
  }

  return { contentType: registry.contentType, render: () => registry.metrics() };
}
