/**
 * Fuzzing a real hub (issue 7, [G2]): one MQTT device and one
 * WebSocket device send a few hundred seeded mutations of the spec's device
 * examples each (MQTT ones also on random channels of their own topic),
 * reconnecting whenever the hub disconnects them for too many errors, while
 * a control device streams valid QoS 1 telemetry. Afterwards the hub is up,
 * every control seq is stored exactly once, and the fuzzers only ever heard
 * catalog errors [FP-8] (4xx: the hub's own faults would be 5xx).
 * `FUZZ_SEED=<n>` replays a run; a failure names the case seed it followed.
 */
import t from 'tap';
import type { MqttClient } from 'mqtt';
import { DEVICE_CHANNELS, ERRORS, HUB_CHANNELS, type HistoryResponse } from '@iot-hub/protocol';
import { allExamples } from '../../../protocol/test/helpers/spec-examples.js';
import { Rng, caseSeed, excerpt, mutate, runSeed } from '../../../protocol/test/helpers/fuzz-mutations.js';
import { collectMessages, connectMqtt, deviceSocket, type JsonSocket } from '../helpers/clients.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

const RUN_SEED = runSeed(0x7f0222);
const CASES = 300;
const CONTROL_SEQS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const deviceExamples = allExamples.filter((e) => e.from === 'device');
const OTHER_CHANNELS = [...HUB_CHANNELS, 'firmware', '', 'telemetry/extra', 'Telemetry', ' telemetry', '温度', '__proto__', 'constructor', 'x'.repeat(300)];

interface Heard {
  /** The seed of the last case sent before this arrived. */
  afterSeed: number;
  reconnects: number;
  frame: Record<string, unknown>;
}

/** Problems with what a fuzzing connection heard: only catalog errors; the hub's own 5xx apart. */
function errorProblems(heard: Heard[], allowed: Set<string>): { problems: string[]; hubFailures: string[] } {
  const problems: string[] = [];
  const hubFailures: string[] = [];
  for (const { afterSeed, frame } of heard) {
    const where = `after seed=${afterSeed} (run ${RUN_SEED})`;
    if (allowed.has(String(frame.type))) continue;
    if (frame.type !== 'error') problems.push(`${where}: a ${JSON.stringify(frame.type)} frame ${excerpt(JSON.stringify(frame))}`);
    else if (typeof frame.error !== 'string' || !(frame.error in ERRORS)) problems.push(`${where}: error code ${JSON.stringify(frame.error)} is not in the catalog: ${excerpt(JSON.stringify(frame))}`);
    else if (frame.code !== ERRORS[frame.error as keyof typeof ERRORS].status) problems.push(`${where}: ${frame.error} with code ${String(frame.code)}`);
    else if ((frame.code as number) >= 500) hubFailures.push(`${where}: the hub failed (${frame.error}): ${excerpt(JSON.stringify(frame), 300)}`);
  }
  return { problems, hubFailures };
}

async function fuzzMqtt(hub: TestHub, id: string, token: string): Promise<{ heard: Heard[]; reconnects: number }> {
  const heard: Heard[] = [];
  let lastSeed = 0;
  let reconnects = -1;
  let client: MqttClient | undefined;
  const connect = async () => {
    for (let attempt = 0; ; attempt++) {
      try {
        const c = await connectMqtt(t, hub, id, token);
        // A reset or a refused publish after CONNACK is part of the game, not a crash.
        c.on('error', () => {});
        const inbox = collectMessages(c);
        const push = inbox.push.bind(inbox);
        inbox.push = (...items) => {
          for (const m of items) heard.push({ afterSeed: lastSeed, reconnects, frame: m.payload });
          return push(...items);
        };
        await c.subscribeAsync(`devices/${id}/errors`, { qos: 0 });
        reconnects++;
        return c;
      } catch (err) {
        if (attempt >= 20) throw err;
        await sleep(50);
      }
    }
  };
  for (let i = 0; i < CASES; i++) {
    if (!client?.connected) client = await connect();
    const seed = caseSeed(RUN_SEED, 'mqtt', i);
    const rng = new Rng(seed);
    const example = rng.pick(deviceExamples);
    const { text } = mutate(example.json, seed);
    const ownChannel = example.topic?.split('/')[2] ?? rng.pick(DEVICE_CHANNELS);
    const channel = rng.chance(0.7) ? ownChannel : rng.pick([...DEVICE_CHANNELS, ...OTHER_CHANNELS]);
    lastSeed = seed;
    // QoS 1 publishes are not awaited: one the hub answers by closing the connection gets no PUBACK.
    client.publishAsync(`devices/${id}/${channel}`, text, { qos: rng.chance(0.3) ? 1 : 0 }).catch(() => {});
    await sleep(4);
  }
  await sleep(300);
  await client?.endAsync();
  return { heard, reconnects };
}

async function fuzzWs(hub: TestHub, id: string, token: string): Promise<{ heard: Heard[]; reconnects: number }> {
  const heard: Heard[] = [];
  let lastSeed = 0;
  let reconnects = -1;
  let socket: JsonSocket | undefined;
  const connect = async () => {
    for (let attempt = 0; ; attempt++) {
      try {
        const s = await deviceSocket(t, hub, id, token);
        s.ws.on('error', () => {});
        s.ws.on('message', () => heard.push({ afterSeed: lastSeed, reconnects, frame: s.frames[s.frames.length - 1]! }));
        reconnects++;
        return s;
      } catch (err) {
        if (attempt >= 20) throw err;
        await sleep(50);
      }
    }
  };
  for (let i = 0; i < CASES; i++) {
    if (socket?.ws.readyState !== socket?.ws.OPEN || !socket) socket = await connect();
    const seed = caseSeed(RUN_SEED, 'ws', i);
    const rng = new Rng(seed);
    const { text } = mutate(rng.pick(deviceExamples).json, seed);
    lastSeed = seed;
    if (rng.chance(0.05)) socket.ws.send(Buffer.from(text), { binary: true });
    else socket.ws.send(text);
    await sleep(4);
  }
  await sleep(300);
  socket?.ws.close(1000);
  return { heard, reconnects };
}

async function control(hub: TestHub, id: string, token: string): Promise<{ heard: Heard[] }> {
  const client = await connectMqtt(t, hub, id, token);
  const heard: Heard[] = [];
  client.on('message', (_topic, payload) => heard.push({ afterSeed: -1, reconnects: 0, frame: JSON.parse(payload.toString()) as Record<string, unknown> }));
  await client.subscribeAsync(`devices/${id}/errors`, { qos: 0 });
  for (let seq = 0; seq < CONTROL_SEQS; seq++) {
    await client.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ seq, metrics: { n: seq } }), { qos: 1 });
    if (seq % 20 === 0) await sleep(10);
  }
  await client.endAsync();
  return { heard };
}

t.test(`seeded fuzzing over MQTT and WebSocket leaves the hub and a bystander unharmed (run seed ${RUN_SEED})`, async (t) => {
  const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort();
  const hub = await startTestHub(t);
  const m = await hub.provision('fuzz-mqtt');
  const w = await hub.provision('fuzz-ws');
  const c = await hub.provision('control');

  const [mqttRun, wsRun, controlRun] = await Promise.all([fuzzMqtt(hub, m.id, m.token), fuzzWs(hub, w.id, w.token), control(hub, c.id, c.token)]);

  const health = await fetch(`${hub.httpUrl}/healthz`);
  t.equal(health.status, 200, '/healthz is ok');

  const history = (await hub.api('GET', `/api/devices/${c.id}/telemetry?metric=n&maxPoints=10000`)).body as HistoryResponse;
  const values = (history.series[0]?.points ?? []).map((p) => p.avg).sort((a, b) => a - b);
  t.same(values, Array.from({ length: CONTROL_SEQS }, (_, i) => i), `every control seq is stored exactly once (${values.length} points)`);
  t.same(controlRun.heard, [], 'the control device heard no errors');

  const runs = [
    { name: 'MQTT', run: mqttRun, allowed: new Set<string>() },
    { name: 'WS', run: wsRun, allowed: new Set(['welcome', 'desired', 'ack', 'pong']) },
  ];
  for (const { name, run, allowed } of runs) {
    const { problems, hubFailures } = errorProblems(run.heard, allowed);
    const what = `${run.heard.length} frames heard, ${run.reconnects} reconnects`;
    t.same(problems.slice(0, 5), [], `${name} fuzzer: only catalog errors${allowed.size ? ' besides ' + [...allowed].join('/') : ''} (${what})`);
    // Known hub bug, reported with issue 7: a hello that nests an unknown field thousands deep inside
    // a metric or command spec passes the schema, then JSON.stringify in
    // SqliteRegistryStore.saveCapabilities overflows the stack: internal_error, no PUBACK or ack.
    t.same(hubFailures.slice(0, 5), [], `${name} fuzzer: the hub never failed with a 5xx`);
  }
  t.ok(mqttRun.heard.some((h) => h.frame.error === 'too_many_errors') && mqttRun.reconnects > 0, 'the MQTT fuzzer was disconnected for too many errors and came back');
  t.ok(wsRun.heard.some((h) => h.frame.error === 'too_many_errors') && wsRun.reconnects > 0, 'the WS fuzzer was disconnected for too many errors and came back');

  for (const id of [m.id, w.id, c.id]) t.equal((await hub.api('GET', `/api/devices/${id}`)).status, 200, `GET /api/devices/${id} still answers`);
  t.same(Object.getOwnPropertyNames(Object.prototype).sort(), protoBefore, 'Object.prototype gained no properties');
});
