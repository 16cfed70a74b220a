/**
 * The wire fuzzer (issue 7): raw TCP connections send seeded MQTT byte
 * streams to a hub running as a child process (`node hub/dist/main.js`, so
 * its RSS is read from /proc/<pid>/status apart from the fuzzer's own
 * memory), while a control group of mqtt.js devices streams QoS 1 telemetry.
 * Used by hub/test/security/mqtt-fuzz.test.ts (short) and run-fuzz.ts (`npm
 * run fuzz`, long).
 *
 * Sessions: 20% raw noise before any CONNECT; the rest CONNECT with a real
 * provisioned device's credentials, wait for the CONNACK, then send many
 * packets (mostly PUBLISHes of mutated JSON, some broken framing) until the
 * session's list runs out or the hub closes the connection. The packets of
 * session s of worker w are a pure function of (seed, w, s); how many of
 * them the hub reads before it closes depends on timing.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { HistoryResponse, ProvisionResponse } from '@iot-hub/protocol';
import { Rng, caseSeed } from '../../../protocol/test/helpers/fuzz-mutations.js';
import { spawnHub, type HubProcess } from '../helpers/hub-process.js';
import { connectPacket, packetMutations, sessionPacket } from './mqtt-packets.js';

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

export interface FuzzReport {
  seed: number;
  packetsSent: number;
  bytesSent: number;
  byKind: Record<string, number>;
  seconds: number;
  packetsPerSecond: number;
  sessions: number;
  /** Sessions the hub ended (close/reset) before the fuzzer did. */
  closedByHub: number;
  /** CONNECTs the hub did not answer with CONNACK 0 (closed or refused). */
  connectRefused: number;
  rssKb: { baseline: number; peak: number; end: number };
  heapUsedMb: { baseline: number; end: number };
  hubAlive: boolean;
  healthz: number;
  control: { device: string; sent: number; stored: number; exactlyOnce: boolean; errors: string[] }[];
  /** The hub's log lines at level error (50) or above. */
  hubErrors: string[];
}

const ADMIN_TOKEN = 'fuzz-admin-token-0123456789';
/** The history API returns at most 10,000 raw points; the control stops there. */
const MAX_CONTROL_SEQS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

async function heapUsedMb(httpUrl: string): Promise<number> {
  const res = await fetch(`${httpUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const m = /^iot_hub_nodejs_heap_size_used_bytes (\S+)/m.exec(await res.text());
  return m ? Math.round(Number(m[1]) / 1048576) : NaN;
}

async function provision(httpUrl: string, id: string): Promise<ProvisionResponse> {
  const res = await fetch(`${httpUrl}/api/devices`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id, kind: 'sensor' }),
  });
  if (res.status !== 201) throw new Error(`provision ${id}: ${res.status} ${await res.text()}`);
  return (await res.json()) as ProvisionResponse;
}

interface Counters {
  sent: number;
  bytes: number;
  byKind: Record<string, number>;
  sessions: number;
  closedByHub: number;
  connectRefused: number;
}

/** Opens a socket; `closed` turns true when the hub ends it. Incoming bytes are only watched for the CONNACK. */
function openSocket(port: number): Promise<{ socket: Socket; state: { closed: boolean; connack: Promise<boolean> } }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.setNoDelay(true);
    const state = { closed: false, connack: Promise.resolve(false) };
    state.connack = new Promise<boolean>((r) => {
      // CONNACK: 0x20 0x02 flags returnCode; return code 0 = accepted.
      socket.once('data', (d: Buffer) => r(d[0] === 0x20 && d[3] === 0));
      socket.once('close', () => r(false));
      setTimeout(() => r(false), 3000).unref();
    });
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.once('close', () => (state.closed = true));
    socket.once('connect', () => resolve({ socket, state }));
    socket.once('error', reject);
  });
}

function write(socket: Socket, bytes: Buffer): Promise<void> {
  return new Promise((r) => {
    if (socket.write(bytes)) r();
    else {
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        r();
      };
      socket.once('drain', done);
      socket.once('close', done);
    }
  });
}

async function worker(index: number, opts: { seed: number; budget: () => boolean; port: number; device: ProvisionResponse; counters: Counters }): Promise<void> {
  const { counters, device } = opts;
  for (let session = 0; opts.budget(); session++) {
    const rng = new Rng(caseSeed(opts.seed, 'mqtt-wire', index, session));
    const noise = rng.chance(0.2);
    const length = noise ? 1 + rng.int(8) : 5 + rng.int(200);
    let socket: Socket;
    let state: Awaited<ReturnType<typeof openSocket>>['state'];
    try {
      ({ socket, state } = await openSocket(opts.port));
    } catch {
      await sleep(20);
      continue;
    }
    counters.sessions++;
    if (!noise) {
      const creds = rng.chance(0.95) ? [device.id, device.id, device.token] : [device.id, device.id, 'wrong-token'];
      await write(socket, connectPacket(creds[0]!, creds[1]!, creds[2]!));
      counters.sent++;
      counters.byKind.connect = (counters.byKind.connect ?? 0) + 1;
      if (!(await state.connack)) counters.connectRefused++;
    }
    for (let i = 0; i < length && !state.closed && opts.budget(); i++) {
      const packet = noise ? { kind: 'noise', bytes: packetMutations.randomBytes!(rng, device.id, 1) } : sessionPacket(rng, device.id, 1 + (i % 65535));
      await write(socket, packet.bytes);
      if (state.closed) break;
      counters.sent++;
      counters.bytes += packet.bytes.length;
      counters.byKind[packet.kind] = (counters.byKind[packet.kind] ?? 0) + 1;
      // Let the hub answer now and then, so a close lands before the next packets.
      if (i % 16 === 15) await new Promise((r) => setImmediate(r));
    }
    // Give the hub a moment to react to the last packet before deciding who closed.
    await sleep(5);
    if (state.closed) counters.closedByHub++;
    socket.destroy();
  }
}

/** A control device: sequential QoS 1 telemetry until told to stop; every seq must be stored exactly once. */
async function controlDevice(mqttUrl: string, device: ProvisionResponse, stop: () => boolean): Promise<{ sent: number; errors: string[] }> {
  const errors: string[] = [];
  const client = await mqtt.connectAsync(mqttUrl, { clientId: device.id, username: device.id, password: device.token, reconnectPeriod: 0, connectTimeout: 5000 });
  client.on('close', () => errors.push('connection closed'));
  client.on('message', (_topic, payload) => errors.push(`heard ${payload.toString().slice(0, 200)}`));
  await client.subscribeAsync(`devices/${device.id}/errors`, { qos: 0 });
  let seq = 0;
  while (!stop() && errors.length === 0 && seq < MAX_CONTROL_SEQS) {
    try {
      await client.publishAsync(`devices/${device.id}/telemetry`, JSON.stringify({ seq, metrics: { n: seq } }), { qos: 1 });
      seq++;
    } catch (err) {
      errors.push(`publish ${seq}: ${(err as Error).message}`);
      break;
    }
    await sleep(20);
  }
  client.removeAllListeners('close');
  await client.endAsync();
  return { sent: seq, errors };
}

async function storedSeqs(httpUrl: string, id: string): Promise<number[]> {
  const res = await fetch(`${httpUrl}/api/devices/${id}/telemetry?metric=n&maxPoints=${MAX_CONTROL_SEQS}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  if (res.status !== 200) throw new Error(`history of ${id}: ${res.status} ${await res.text()}`);
  const history = (await res.json()) as HistoryResponse;
  return (history.series[0]?.points ?? []).map((p) => p.avg).sort((a, b) => a - b);
}

/**
 * Spawns the hub (built: hub/dist/main.js), fuzzes it and returns the figures;
 * the hub is stopped and its data dir removed before this resolves.
 * --ip-connect-rate 0 and --device-rate 0: the fuzzer reconnects and
 * publishes faster than one IP and one device are allowed to, and the limits
 * would otherwise drop most packets before the parser and decoder see them.
 */
export async function runMqttFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? (() => {});
  const workers = options.workers ?? 8;
  const dataDir = mkdtempSync(join(tmpdir(), 'iot-hub-fuzz-'));
  const teardowns: (() => unknown)[] = [];
  let hub: HubProcess | undefined;
  try {
    hub = await spawnHub({ teardown: (fn) => teardowns.push(fn) }, ['--data-dir', dataDir, '--admin-token', ADMIN_TOKEN, '--ip-connect-rate', '0', '--device-rate', '0']);
    const pid = hub.child.pid as number;
    const httpUrl = `http://127.0.0.1:${hub.httpPort}`;
    const mqttUrl = `mqtt://127.0.0.1:${hub.mqttPort}`;
    const fuzzDevices = await Promise.all(Array.from({ length: workers }, (_, i) => provision(httpUrl, `fuzz-${i}`)));
    const controls = await Promise.all(Array.from({ length: options.controlDevices ?? 3 }, (_, i) => provision(httpUrl, `control-${i}`)));

    await sleep(1000);
    const baseline = rssKb(pid, 'VmRSS');
    const heapBaseline = await heapUsedMb(httpUrl);
    log(`seed ${options.seed}, ${options.packets} packets, ${workers} workers; hub pid ${pid}, baseline RSS ${Math.round(baseline / 1024)} MB, heap used ${heapBaseline} MB`);

    const counters: Counters = { sent: 0, bytes: 0, byKind: {}, sessions: 0, closedByHub: 0, connectRefused: 0 };
    let fuzzing = true;
    const controlRuns = controls.map((d) => controlDevice(mqttUrl, d, () => !fuzzing));
    const started = performance.now();
    const progress = setInterval(() => log(`  ${counters.sent} packets, ${counters.sessions} sessions, RSS ${Math.round(rssKb(pid, 'VmRSS') / 1024)} MB`), 5000);
    try {
      await Promise.all(Array.from({ length: workers }, (_, i) => worker(i, { seed: options.seed, budget: () => counters.sent < options.packets, port: hub!.mqttPort, device: fuzzDevices[i]!, counters })));
    } finally {
      clearInterval(progress);
      fuzzing = false;
    }
    const seconds = (performance.now() - started) / 1000;
    const peak = rssKb(pid, 'VmHWM');
    const controlResults = await Promise.all(controlRuns);

    await sleep(options.settleMs ?? 5000);
    const hubAlive = hub.child.exitCode === null && hub.child.signalCode === null;
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
    return {
      seed: options.seed,
      packetsSent: counters.sent,
      bytesSent: counters.bytes,
      byKind: counters.byKind,
      seconds: Math.round(seconds * 10) / 10,
      packetsPerSecond: Math.round(counters.sent / seconds),
      sessions: counters.sessions,
      closedByHub: counters.closedByHub,
      connectRefused: counters.connectRefused,
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
