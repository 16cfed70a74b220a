/**
 * Load mode for benchmarks: N MQTT devices publishing telemetry flat out (or
 * at a fixed aggregate rate) for a duration, each with at most K QoS 1
 * messages in flight, counting sent / acked / failed exactly and timing
 * publish → PUBACK. Payloads are ~80 bytes and carry `t` = send time (epoch
 * ms) so a dashboard subscriber can time publish → push.
 *
 * Counting rule: every publish callback fires exactly once (PUBACK, write
 * error, or the forced close after the drain timeout), so at the end
 * sent = acked + failed (QoS 1), and `acked` is what the hub promised to keep.
 */
import { performance } from 'node:perf_hooks';
import { deviceTopic, type Capabilities } from '@iot-hub/protocol';
import { LatencyRecorder, type LatencySummary } from './latency.js';
import { mapConcurrent } from './provision.js';
import { connectPublisher, type LoadPublisher, type PublisherKind } from './publishers/index.js';

export interface LoadDevice {
  id: string;
  token: string;
}

export interface LoadOptions {
  /** mqtt://host:port of the hub. */
  mqttUrl: string;
  /** Provisioned devices; one MQTT connection each. */
  devices: readonly LoadDevice[];
  /** How long to publish, ms. */
  durationMs: number;
  /** QoS of the telemetry publishes (default 1). */
  qos?: 0 | 1;
  /** Most messages in flight per device (default 4). */
  inflight?: number;
  /** Aggregate target msgs/s; flat out when absent. */
  rate?: number;
  /** Devices connecting at once (default 100). */
  connectConcurrency?: number;
  /** After the duration, how long to wait for outstanding PUBACKs (default 10 s). */
  drainTimeoutMs?: number;
  /** Send a hello declaring the load metrics before publishing (default true) [FP-4.1]. */
  hello?: boolean;
  /** MQTT client: the lean built-in publisher (default) or mqtt.js (to cross-check it). */
  client?: PublisherKind;
  /** Where the once-a-second progress line goes; stderr by default, false for none. */
  progress?: ((line: string) => void) | false;
  /** Ends the publishing window early. */
  signal?: AbortSignal;
  /** Called as the run moves on, so a benchmark can measure the hub over exactly the publishing window. */
  onPhase?: (phase: LoadPhase) => void;
}

/** `publishing` starts once every device is connected; `draining` when the window ends; `done` after the last ack (or the drain timeout). */
export type LoadPhase = 'publishing' | 'draining' | 'done';

export interface DeviceLoadCounts {
  id: string;
  sent: number;
  acked: number;
  failed: number;
}

export interface LoadReport {
  devices: number;
  connected: number;
  connectFailed: number;
  /** Wall time to connect (and hello) every device, ms. */
  connectMs: number;
  qos: 0 | 1;
  inflight: number;
  rate: number | null;
  /** Wall time of the publishing window, ms. */
  durationMs: number;
  /** Wall time from the end of the window until the last ack or the drain timeout, ms. */
  drainMs: number;
  sent: number;
  /** QoS 1: PUBACKs received. QoS 0: publishes written to the socket. */
  acked: number;
  failed: number;
  /** sent / durationMs. */
  sentPerSec: number;
  /** acked / (durationMs + drainMs). */
  ackedPerSec: number;
  /** publish → PUBACK (QoS 1 only), ms. */
  ackLatencyMs: LatencySummary | null;
  /** CPU of this process over the window and the drain. */
  cpu: { userMs: number; systemMs: number; percentOfOneCore: number };
  /** Counts per device, in input order. */
  perDevice: DeviceLoadCounts[];
  /** Distinct error messages with their counts (connect and publish). */
  errors: Record<string, number>;
}

interface LoadConnection extends DeviceLoadCounts {
  client: LoadPublisher;
  topic: Buffer;
  index: number;
  seq: number;
  inflight: number;
  pumpScheduled: boolean;
}

/** What a load device declares in its hello: the metrics of its payloads. */
export const LOAD_CAPABILITIES: Capabilities = {
  kind: 'load-sensor',
  fw: 'device-sim-load',
  metrics: {
    temperature: { type: 'number', unit: '°C', min: -40, max: 85 },
    humidity: { type: 'number', unit: '%', min: 0, max: 100 },
    t: { type: 'number', unit: 'ms', description: 'send time, epoch ms (latency probes)' },
  },
  commands: {},
  heartbeatSec: 60,
};

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const qos = options.qos ?? 1;
  const window = Math.max(1, options.inflight ?? 4);
  const progress = options.progress === undefined ? (line: string) => process.stderr.write(`${line}\n`) : options.progress;
  const errors: Record<string, number> = {};
  const countError = (message: string): void => {
    errors[message] = (errors[message] ?? 0) + 1;
  };

  // Phase 1: connect in parallel batches.
  const connectStart = performance.now();
  const connections: LoadConnection[] = [];
  let connectFailed = 0;
  await mapConcurrent(options.devices, options.connectConcurrency ?? 100, async (device, index) => {
    try {
      const client = await connectDevice(options.client ?? 'lite', options.mqttUrl, device, options.hello ?? true);
      connections.push({ id: device.id, client, topic: Buffer.from(deviceTopic(device.id, 'telemetry')), index, seq: 0, inflight: 0, pumpScheduled: false, sent: 0, acked: 0, failed: 0 });
    } catch (err) {
      connectFailed++;
      countError(`connect: ${(err as Error).message}`);
    }
  });
  const connectMs = performance.now() - connectStart;
  connections.sort((a, b) => a.index - b.index);
  if (connections.length === 0) {
    throw new Error(`load: no device could connect to ${options.mqttUrl} (${Object.keys(errors)[0] ?? 'no devices given'})`);
  }

  // Phase 2: publish.
  const latencies = new LatencyRecorder();
  let running = true;
  let sent = 0;
  let acked = 0;
  let failed = 0;
  let outstanding = 0;
  let drained: (() => void) | undefined;

  const publishOne = (c: LoadConnection): void => {
    const seq = c.seq++;
    const now = Date.now();
    // Cheap deterministic values in the ranges of a room: 20.00-29.99 °C, 35.0-54.9 %.
    const temperature = (2000 + ((seq * 37 + c.index * 13) % 1000)) / 100;
    const humidity = (350 + ((seq * 11 + c.index) % 200)) / 10;
    const payload = `{"metrics":{"temperature":${temperature},"humidity":${humidity},"t":${now}},"seq":${seq}}`;
    c.inflight++;
    c.sent++;
    sent++;
    outstanding++;
    const started = performance.now();
    c.client.publish(c.topic, payload, qos, (err) => {
      c.inflight--;
      outstanding--;
      if (err) {
        c.failed++;
        failed++;
        countError(`publish: ${err.message}`);
      } else {
        c.acked++;
        acked++;
        if (qos === 1) latencies.record(performance.now() - started);
      }
      if (running) schedulePump(c);
      else if (outstanding === 0) drained?.();
    });
  };

  // Flat out: keep each device's window full. With a rate: spend tokens round robin.
  let tokens = 0;
  const pump = (c: LoadConnection): void => {
    c.pumpScheduled = false;
    if (options.rate !== undefined) return; // the ticker sends
    // mqtt.js runs QoS 0 callbacks synchronously while the socket takes data: cap each turn at one window, then yield.
    let budget = window;
    while (running && c.inflight < window && budget-- > 0 && c.client.connected) publishOne(c);
    if (qos === 0 && running && c.inflight < window && c.client.connected) schedulePump(c);
  };
  const schedulePump = (c: LoadConnection): void => {
    if (options.rate !== undefined) return;
    if (qos === 1) {
      pump(c); // PUBACKs arrive from the socket: already asynchronous
    } else if (!c.pumpScheduled) {
      c.pumpScheduled = true;
      setImmediate(() => pump(c));
    }
  };

  let cursor = 0;
  const spendTokens = (): void => {
    let idle = 0;
    while (tokens >= 1 && idle < connections.length) {
      const c = connections[cursor] as LoadConnection;
      cursor = (cursor + 1) % connections.length;
      if (c.inflight < window && c.client.connected) {
        publishOne(c);
        tokens--;
        idle = 0;
      } else {
        idle++;
      }
    }
    // Tokens that found every window full are dropped, not hoarded into a burst.
    if (tokens > 1) tokens = 1;
  };

  options.onPhase?.('publishing');
  const cpuStart = process.cpuUsage();
  const windowStart = performance.now();
  let lastTick = windowStart;
  const ticker =
    options.rate !== undefined
      ? setInterval(() => {
          const now = performance.now();
          tokens += ((options.rate as number) * (now - lastTick)) / 1000;
          lastTick = now;
          spendTokens();
        }, 5)
      : undefined;
  if (options.rate === undefined) for (const c of connections) pump(c);

  // Progress once a second: totals, and rate and latency over the last second.
  let lastLine = { at: windowStart, sent: 0, acked: 0, latencies: 0 };
  const progressTimer = progress
    ? setInterval(() => {
        const now = performance.now();
        const dt = (now - lastLine.at) / 1000;
        const recent = latencies.summary(lastLine.latencies);
        progress(
          `load ${((now - windowStart) / 1000).toFixed(0).padStart(3)}s  sent ${sent}  acked ${acked}  failed ${failed}  ` +
            `in flight ${outstanding}  ${Math.round((acked - lastLine.acked) / dt)} acked/s` +
            (recent ? `  ack p50 ${recent.p50.toFixed(1)} ms p99 ${recent.p99.toFixed(1)} ms` : ''),
        );
        lastLine = { at: now, sent, acked, latencies: latencies.count };
      }, 1000)
    : undefined;

  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, options.durationMs);
    options.signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
  running = false;
  clearInterval(ticker);
  const windowEnd = performance.now();
  options.onPhase?.('draining');

  // Phase 3: drain outstanding acks, then close (a forced close fails what is left: counted as failed).
  if (outstanding > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.drainTimeoutMs ?? 10_000);
      drained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  const drainEnd = performance.now();
  const cpu = process.cpuUsage(cpuStart);
  options.onPhase?.('done');
  clearInterval(progressTimer);
  await Promise.all(connections.map((c) => c.client.end()));

  const durationMs = windowEnd - windowStart;
  const drainMs = drainEnd - windowEnd;
  return {
    devices: options.devices.length,
    connected: connections.length,
    connectFailed,
    connectMs,
    qos,
    inflight: window,
    rate: options.rate ?? null,
    durationMs,
    drainMs,
    sent,
    acked,
    failed,
    sentPerSec: (sent * 1000) / durationMs,
    ackedPerSec: (acked * 1000) / (durationMs + drainMs),
    ackLatencyMs: qos === 1 ? latencies.summary() : null,
    cpu: {
      userMs: cpu.user / 1000,
      systemMs: cpu.system / 1000,
      percentOfOneCore: ((cpu.user + cpu.system) / 1000 / (drainEnd - windowStart)) * 100,
    },
    perDevice: connections.map(({ id, sent: s, acked: a, failed: f }) => ({ id, sent: s, acked: a, failed: f })),
    errors,
  };
}

/** Connects one load device (and says hello); rejects with the reason. */
async function connectDevice(kind: PublisherKind, url: string, device: LoadDevice, hello: boolean): Promise<LoadPublisher> {
  const client = await connectPublisher(kind, {
    url,
    clientId: device.id,
    username: device.id,
    password: device.token,
    keepaliveSec: 60,
    connectTimeoutMs: 30_000,
  });
  if (hello) {
    await new Promise<void>((resolve, reject) => {
      client.publish(Buffer.from(deviceTopic(device.id, 'hello')), JSON.stringify(LOAD_CAPABILITIES), 1, (err) => (err ? reject(err) : resolve()));
    }).catch(async (err: unknown) => {
      await client.end();
      throw err;
    });
  }
  return client;
}
