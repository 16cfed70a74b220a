/**
 * The harness shared by the wire fuzzers (MQTT, device and dashboard
 * WebSocket, HTTP API): a hub running as a child process (`node
 * hub/dist/main.js`, so its RSS is read from /proc/<pid>/status apart from
 * the fuzzer's own memory), a control group of mqtt.js devices streaming QoS 1
 * telemetry while the fuzz workers run, then the figures that decide a run
 * (fuzz-checks.ts). Each target supplies only its worker: what one fuzzing
 * connection sends.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { HistoryResponse, ProvisionResponse } from '@iot-hub/protocol';
import { spawnHub, type HubProcess } from '../helpers/hub-process.js';

export interface FuzzOptions {
  seed: number;
  packets: number;
  /** Parallel fuzzing connections, each with a device of its own. */
  workers?: number;
  controlDevices?: number;
  /** Wait after fuzzing before the end RSS is read. */
  settleMs?: number;
  log?: (line: string) => void;
}

/** What the workers of one run count together. */
export interface FuzzCounters {
  sent: number;
  bytes: number;
  byKind: Record<string, number>;
  sessions: number;
  /** Sessions the hub ended (close/reset) before the fuzzer did. */
  closedByHub: number;
  /** Connection attempts the hub refused (CONNACK ≠ 0, an HTTP status instead of 101 ...). */
  connectRefused: number;
  /** Answers by kind: HTTP statuses, WebSocket close codes, error codes in frames. */
  answers: Record<string, number>;
  /** Answers that mean the hub itself failed (HTTP 5xx, close 1011, a 5xx error frame), with what led to them. */
  hubFaults: string[];
}

/** What a worker gets: its index, its own device, the hub's ports and credentials, the shared counters. */
export interface WorkerContext {
  index: number;
  seed: number;
  /** True while packets are left in the run's budget. */
  budget: () => boolean;
  httpPort: number;
  mqttPort: number;
  adminToken: string;
  /** A viewer's API token (read-only role). */
  viewerToken: string;
  device: ProvisionResponse;
  counters: FuzzCounters;
}

export interface FuzzTarget {
  /** Names the target in seeds and reports: mqtt, ws-device, ws-dashboard, http. */
  name: string;
  worker(ctx: WorkerContext): Promise<void>;
}

export interface FuzzReport extends Omit<FuzzCounters, 'sent' | 'bytes'> {
  target: string;
  seed: number;
  packetsSent: number;
  bytesSent: number;
  seconds: number;
  packetsPerSecond: number;
  rssKb: { baseline: number; peak: number; end: number };
  heapUsedMb: { baseline: number; end: number };
  hubAlive: boolean;
  healthz: number;
  control: { device: string; sent: number; stored: number; exactlyOnce: boolean; errors: string[] }[];
  /** The hub's log lines at level error (50) or above. */
  hubErrors: string[];
}

export const ADMIN_TOKEN = 'fuzz-admin-token-0123456789';
/** The history API returns at most 10,000 raw points; the control stops there. */
const MAX_CONTROL_SEQS = 10_000;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** NaN once the process is gone. */
function rssKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return NaN;
  }
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) : NaN;
}

async function heapUsedMb(httpUrl: string): Promise<number> {
  const res = await fetch(`${httpUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const m = /^iot_hub_nodejs_heap_size_used_bytes (\S+)/m.exec(await res.text());
  return m ? Math.round(Number(m[1]) / 1048576) : NaN;
}

async function postJson<T>(httpUrl: string, path: string, body: unknown): Promise<T> {
  const res = await fetch(httpUrl + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const provision = (httpUrl: string, id: string) => postJson<ProvisionResponse>(httpUrl, '/api/devices', { id, kind: 'sensor' });

async function viewerToken(httpUrl: string): Promise<string> {
  await postJson(httpUrl, '/api/users', { username: 'fuzz-viewer', password: 'fuzz-viewer-password-1', role: 'viewer' });
  const login = await fetch(`${httpUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: httpUrl },
    body: JSON.stringify({ username: 'fuzz-viewer', password: 'fuzz-viewer-password-1' }),
  });
  if (login.status !== 200) throw new Error(`viewer login: ${login.status} ${await login.text()}`);
  const cookie = login.headers.get('set-cookie') ?? '';
  const res = await fetch(`${httpUrl}/api/tokens`, { method: 'POST', headers: { cookie: cookie.split(';')[0]!, 'content-type': 'application/json', origin: httpUrl }, body: JSON.stringify({ name: 'fuzz' }) });
  if (res.status !== 201) throw new Error(`viewer token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** A control device: sequential QoS 1 telemetry until told to stop; every seq must be stored exactly once. */
async function controlDevice(mqttUrl: string, device: ProvisionResponse, stop: () => boolean): Promise<{ sent: number; errors: string[] }> {
  const errors: string[] = [];
  const client = await mqtt.connectAsync(mqttUrl, { clientId: device.id, username: device.id, password: device.token, reconnectPeriod: 0, connectTimeout: 5000 });
  // A publish in flight when the connection closes never settles: the close ends the wait.
  const closed = new Promise<void>((r) => client.on('close', () => r()));
  client.on('close', () => errors.push('connection closed'));
  client.on('message', (_topic, payload) => errors.push(`heard ${payload.toString().slice(0, 200)}`));
  await client.subscribeAsync(`devices/${device.id}/errors`, { qos: 0 });
  let seq = 0;
  while (!stop() && errors.length === 0 && seq < MAX_CONTROL_SEQS) {
    try {
      const acked = await Promise.race([client.publishAsync(`devices/${device.id}/telemetry`, JSON.stringify({ seq, metrics: { n: seq } }), { qos: 1 }).then(() => true), closed.then(() => false)]);
      if (!acked) break;
      seq++;
    } catch (err) {
      errors.push(`publish ${seq}: ${(err as Error).message}`);
      break;
    }
    await sleep(20);
  }
  client.removeAllListeners('close');
  await client.endAsync(true);
  return { sent: seq, errors };
}

async function storedSeqs(httpUrl: string, id: string): Promise<number[]> {
  const res = await fetch(`${httpUrl}/api/devices/${id}/telemetry?metric=n&maxPoints=${MAX_CONTROL_SEQS}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  if (res.status !== 200) throw new Error(`history of ${id}: ${res.status} ${await res.text()}`);
  const history = (await res.json()) as HistoryResponse;
  return (history.series[0]?.points ?? []).map((p) => p.avg).sort((a, b) => a - b);
}

/** Counts one answer under its kind, and keeps the first few hub faults with what led to them. */
export function countAnswer(counters: FuzzCounters, answer: string, fault?: string): void {
  counters.answers[answer] = (counters.answers[answer] ?? 0) + 1;
  if (fault !== undefined && counters.hubFaults.length < 20) counters.hubFaults.push(fault);
}

/**
 * Spawns the hub (built: hub/dist/main.js), fuzzes it with the target's
 * workers and returns the figures; the hub is stopped and its data dir
 * removed before this resolves. --ip-connect-rate 0 and --device-rate 0: the
 * fuzzer reconnects and sends faster than one IP and one device are allowed
 * to, and the limits would otherwise drop most input before the parsers see
 * it. `hubArgs` come after those.
 */
export async function runFuzz(target: FuzzTarget, options: FuzzOptions, hubArgs: readonly string[] = []): Promise<FuzzReport> {
  const log = options.log ?? (() => {});
  const workers = options.workers ?? 8;
  const dataDir = mkdtempSync(join(tmpdir(), 'iot-hub-fuzz-'));
  const teardowns: (() => unknown)[] = [];
  let hub: HubProcess | undefined;
  try {
    hub = await spawnHub({ teardown: (fn) => teardowns.push(fn) }, ['--data-dir', dataDir, '--admin-token', ADMIN_TOKEN, '--ip-connect-rate', '0', '--device-rate', '0', ...hubArgs]);
    const pid = hub.child.pid as number;
    const httpUrl = `http://127.0.0.1:${hub.httpPort}`;
    const mqttUrl = `mqtt://127.0.0.1:${hub.mqttPort}`;
    const fuzzDevices = await Promise.all(Array.from({ length: workers }, (_, i) => provision(httpUrl, `fuzz-${i}`)));
    const controls = await Promise.all(Array.from({ length: options.controlDevices ?? 3 }, (_, i) => provision(httpUrl, `control-${i}`)));
    const viewer = await viewerToken(httpUrl);

    await sleep(1000);
    const baseline = rssKb(pid, 'VmRSS');
    const heapBaseline = await heapUsedMb(httpUrl);
    log(`${target.name}: seed ${options.seed}, ${options.packets} packets, ${workers} workers; hub pid ${pid}, baseline RSS ${Math.round(baseline / 1024)} MB, heap used ${heapBaseline} MB`);

    const counters: FuzzCounters = { sent: 0, bytes: 0, byKind: {}, sessions: 0, closedByHub: 0, connectRefused: 0, answers: {}, hubFaults: [] };
    let fuzzing = true;
    const alive = () => hub!.child.exitCode === null && hub!.child.signalCode === null;
    const controlRuns = controls.map((d) => controlDevice(mqttUrl, d, () => !fuzzing));
    const started = performance.now();
    const progress = setInterval(() => log(`  ${counters.sent} packets, ${counters.sessions} sessions, RSS ${Math.round(rssKb(pid, 'VmRSS') / 1024)} MB`), 5000);
    try {
      await Promise.all(
        fuzzDevices.map((device, index) =>
          target.worker({ index, seed: options.seed, budget: () => counters.sent < options.packets && alive(), httpPort: hub!.httpPort, mqttPort: hub!.mqttPort, adminToken: ADMIN_TOKEN, viewerToken: viewer, device, counters }),
        ),
      );
    } finally {
      clearInterval(progress);
      fuzzing = false;
    }
    const seconds = (performance.now() - started) / 1000;
    const peak = rssKb(pid, 'VmHWM');
    const controlResults = await Promise.all(controlRuns);

    await sleep(options.settleMs ?? 5000);
    const hubAlive = alive();
    const healthz = hubAlive ? (await fetch(`${httpUrl}/healthz`)).status : 0;
    const end = hubAlive ? rssKb(pid, 'VmRSS') : NaN;
    const heapEnd = hubAlive ? await heapUsedMb(httpUrl) : NaN;
    const control = await Promise.all(
      controls.map(async (d, i) => {
        const { sent, errors } = controlResults[i]!;
        const stored = hubAlive ? await storedSeqs(httpUrl, d.id) : [];
        const exactlyOnce = stored.length === sent && stored.every((v, j) => v === j);
        return { device: d.id, sent, stored: stored.length, exactlyOnce, errors };
      }),
    );
    const hubErrors = hub.stdoutLines.filter((l) => /"level":(5|6)0/.test(l)).map((l) => l.slice(0, 400));
    if (!hubAlive) hubErrors.push(`exited: ${hub.stderr().slice(-1500)}`);
    const { sent, bytes, ...rest } = counters;
    return {
      target: target.name,
      seed: options.seed,
      packetsSent: sent,
      bytesSent: bytes,
      ...rest,
      seconds: Math.round(seconds * 10) / 10,
      packetsPerSecond: Math.round(sent / seconds),
      rssKb: { baseline, peak, end },
      heapUsedMb: { baseline: heapBaseline, end: heapEnd },
      hubAlive,
      healthz,
      control,
      hubErrors,
    };
  } finally {
    for (const fn of teardowns.reverse()) await fn();
    if (hub && hub.child.exitCode === null) await hub.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}
