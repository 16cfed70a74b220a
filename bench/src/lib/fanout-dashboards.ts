/**
 * Dashboard sockets for the fanout and latency benchmarks, in a child
 * process of their own (forked with an IPC channel), so that parsing
 * hundreds of thousands of frames a second neither slows the process that
 * coordinates the benchmark nor hides in the load generator's CPU.
 *
 * Each socket subscribes to every device's telemetry and, for each event,
 * records publish → receive: receive time (epoch ms with sub-ms resolution,
 * from performance.now() and an offset calibrated against Date.now()) minus
 * the payload's `t` (whole epoch ms, taken by the load generator with
 * Date.now()). So every figure is up to 1 ms above the true delay (0.5 ms on
 * average): `t` is truncated, the receive time is not.
 *
 * Events are assigned to a phase by their `t` (the phase that was running
 * when the device published), so late events still count in their phase.
 * Frames are read with a few indexOf calls rather than JSON.parse: the
 * shape is the hub's own, `{"event":"telemetry","deviceId":…,"metrics":{…,"t":…}}`.
 *
 * An optional probe (latency benchmark): the child also publishes, as one
 * MQTT device, telemetry whose `t` has sub-ms resolution on this process's
 * clock, so those messages are timed send → receive on one clock.
 */
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import type { MqttClient } from 'mqtt';
import { DASHBOARD_SUBPROTOCOL } from '@iot-hub/protocol';

/** Latency histogram: 0.1 ms buckets up to 2 s; slower events are kept exactly. */
const BUCKET_MS = 0.1;
const BUCKETS = 20_000;

export interface PhaseCounts {
  events: number;
  within100: number;
  /** Histogram of publish → receive in BUCKET_MS steps. */
  histogram: number[] | null;
  /** Delays ≥ BUCKETS × BUCKET_MS, exactly. */
  slow: number[];
  /** overflow notices, and the sum of their `dropped`. */
  overflows: number;
  dropped: number;
}

export interface SocketReport {
  index: number;
  stalled: boolean;
  phases: Record<string, PhaseCounts>;
}

export interface ChildReport {
  sockets: SocketReport[];
  /** Per phase: distinct (device, t) pairs seen on any socket of this process. */
  distinct: Record<string, number>;
  /** Per phase: probe messages timed on one clock (latency benchmark). */
  probe: Record<string, number[]>;
  cpuMs: number;
}

export type ParentMessage =
  | { op: 'connect'; httpUrl: string; adminToken: string; sockets: number; firstIndex: number }
  | { op: 'phase'; name: string; fromT: number }
  | { op: 'end'; atT: number }
  | { op: 'stall'; index: number }
  | { op: 'resume' }
  | { op: 'probe'; mqttUrl: string; deviceId: string; token: string; perSecond: number }
  | { op: 'report' };

export type ChildMessage = { op: 'ready' } | { op: 'error'; message: string } | { op: 'report'; report: ChildReport } | { op: 'resumed' };

interface Phase {
  name: string;
  fromT: number;
  distinct: Map<string, Set<number>>;
  probe: number[];
}

class Recorder {
  readonly phases = new Map<string, PhaseCounts & { hist: Uint32Array }>();
  stalled = false;
  ws: WebSocket | undefined;
  constructor(readonly index: number) {}

  counts(phase: string): PhaseCounts & { hist: Uint32Array } {
    let c = this.phases.get(phase);
    if (!c) this.phases.set(phase, (c = { events: 0, within100: 0, histogram: null, slow: [], overflows: 0, dropped: 0, hist: new Uint32Array(BUCKETS) }));
    return c;
  }
}

const phases: Phase[] = [];
let endT = Infinity;
const recorders: Recorder[] = [];
/** Epoch ms = performance.now() + offset; calibrated so Date.now() (truncated) never exceeds it. */
let offset = 0;

function calibrate(): void {
  let best = -Infinity;
  const until = performance.now() + 5;
  while (performance.now() < until) best = Math.max(best, Date.now() - performance.now());
  offset = best;
}

function phaseOf(t: number): Phase | undefined {
  if (t >= endT) return undefined;
  for (let i = phases.length - 1; i >= 0; i--) if ((phases[i] as Phase).fromT <= t) return phases[i];
  return undefined;
}

function onFrame(rec: Recorder, text: string, at: number): void {
  if (text.startsWith('{"event":"overflow"')) {
    const phase = phases.at(-1);
    if (!phase) return;
    const c = rec.counts(phase.name);
    c.overflows++;
    c.dropped += Number(/"dropped":(\d+)/.exec(text)?.[1] ?? 0);
    return;
  }
  if (!text.startsWith('{"event":"telemetry"')) return;
  const tAt = text.lastIndexOf('"t":');
  if (tAt < 0) return;
  const t = parseFloat(text.slice(tAt + 4));
  const phase = phaseOf(t);
  if (!phase) return;
  const idAt = text.indexOf('"deviceId":"') + 12;
  const deviceId = text.slice(idAt, text.indexOf('"', idAt));
  if (deviceId === probeId) {
    // The probe's `t` is this process's clock with sub-ms resolution; each socket sees it, one sample is enough.
    if (rec.index === recorders[0]?.index) phase.probe.push(at - t);
    return;
  }
  let seen = phase.distinct.get(deviceId);
  if (!seen) phase.distinct.set(deviceId, (seen = new Set()));
  seen.add(t);
  const c = rec.counts(phase.name);
  const delay = at - t;
  c.events++;
  if (delay <= 100) c.within100++;
  const bucket = Math.max(0, Math.floor(delay / BUCKET_MS));
  if (bucket < BUCKETS) (c.hist[bucket] as number)++;
  else c.slow.push(delay);
}

async function connect(httpUrl: string, adminToken: string, index: number): Promise<void> {
  const rec = new Recorder(index);
  recorders.push(rec);
  const ws = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/ws/dashboard`, [DASHBOARD_SUBPROTOCOL, `bearer.${adminToken}`], { skipUTF8Validation: true, perMessageDeflate: false });
  rec.ws = ws;
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  (ws as unknown as { _socket: Socket })._socket.setNoDelay(true);
  const subscribed = new Promise<void>((resolve, reject) => {
    ws.on('message', (data: Buffer) => {
      const at = performance.now() + offset;
      const text = data.toString();
      if (text.startsWith('{"id":1,')) {
        if (text.includes('"status":"ok"')) resolve();
        else reject(new Error(`subscribe refused: ${text.slice(0, 200)}`));
        return;
      }
      onFrame(rec, text, at);
    });
  });
  ws.send(JSON.stringify({ id: 1, op: 'subscribe', devices: '*', events: ['telemetry'] }));
  await subscribed;
}

let probeId: string | undefined;
let probeTimer: NodeJS.Timeout | undefined;
let probeClient: MqttClient | undefined;
/** Never reused: the hub drops a repeated seq as a duplicate. */
let probeSeq = 0;

/** One MQTT device publishing telemetry with a sub-ms `t` from this process's clock. */
async function startProbe(mqttUrl: string, deviceId: string, token: string, perSecond: number): Promise<void> {
  if (!probeClient) {
    const { connectAsync } = await import('mqtt');
    probeClient = await connectAsync(mqttUrl, { clientId: deviceId, username: deviceId, password: token, protocolVersion: 4, reconnectPeriod: 0 });
    (probeClient.stream as unknown as Socket).setNoDelay?.(true);
  }
  const client = probeClient;
  probeId = deviceId;
  clearInterval(probeTimer);
  probeTimer = setInterval(() => {
    const t = performance.now() + offset;
    client.publish(`devices/${deviceId}/telemetry`, JSON.stringify({ metrics: { temperature: 21.5, humidity: 40.1, t }, seq: probeSeq++ }), { qos: 1 });
  }, 1000 / perSecond);
}

function report(): ChildReport {
  const sockets = recorders.map((rec) => ({
    index: rec.index,
    stalled: rec.stalled,
    phases: Object.fromEntries(
      [...rec.phases].map(([name, c]) => {
        // Sparse histogram: [bucket, count] pairs flattened, to keep the IPC message small.
        const histogram: number[] = [];
        c.hist.forEach((n, b) => {
          if (n > 0) histogram.push(b, n);
        });
        return [name, { events: c.events, within100: c.within100, histogram, slow: c.slow, overflows: c.overflows, dropped: c.dropped }];
      }),
    ),
  }));
  const usage = process.cpuUsage();
  return {
    sockets,
    distinct: Object.fromEntries(phases.map((p) => [p.name, [...p.distinct.values()].reduce((n, s) => n + s.size, 0)])),
    probe: Object.fromEntries(phases.map((p) => [p.name, p.probe])),
    cpuMs: (usage.user + usage.system) / 1000,
  };
}

const send = (message: ChildMessage): void => {
  process.send?.(message);
};

process.on('message', (message: ParentMessage) => {
  void (async () => {
    try {
      switch (message.op) {
        case 'connect':
          calibrate();
          // A few at a time: each subscribe answers with a snapshot of every device.
          for (let i = 0; i < message.sockets; i += 10) {
            const batch = Array.from({ length: Math.min(10, message.sockets - i) }, (_, k) => connect(message.httpUrl, message.adminToken, message.firstIndex + i + k));
            await Promise.all(batch);
          }
          send({ op: 'ready' });
          break;
        case 'phase':
          calibrate();
          phases.push({ name: message.name, fromT: message.fromT, distinct: new Map(), probe: [] });
          endT = Infinity;
          break;
        case 'end':
          endT = message.atT;
          clearInterval(probeTimer);
          break;
        case 'stall': {
          const rec = recorders.find((r) => r.index === message.index);
          if (rec?.ws) {
            rec.stalled = true;
            (rec.ws as unknown as { _socket: Socket })._socket.pause();
          }
          break;
        }
        case 'resume':
          for (const rec of recorders) if (rec.stalled && rec.ws) (rec.ws as unknown as { _socket: Socket })._socket.resume();
          send({ op: 'resumed' });
          break;
        case 'probe':
          await startProbe(message.mqttUrl, message.deviceId, message.token, message.perSecond);
          send({ op: 'ready' });
          break;
        case 'report':
          send({ op: 'report', report: report() });
          break;
      }
    } catch (err) {
      send({ op: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  })();
});

// The parent going away (it crashed, or was killed) ends this process too.
process.on('disconnect', () => {
  clearInterval(probeTimer);
  probeClient?.end(true);
  for (const rec of recorders) rec.ws?.terminate();
  process.exit(0);
});
