/**
 * The C reference device (examples/c-device) against the real hub, and
 * against a stand-in broker where a test must hold PUBACKs or send exact
 * hub messages. Everything is checked from outside: the hub's API, the
 * messages on the wire and the device's own log.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Capabilities, CommandView, DeviceStateView, DeviceView, HistoryResponse } from '@iot-hub/protocol';
import { eventually } from '../../../hub/test/helpers/clients.js';
import { startTestHub, type TestHub } from '../../../hub/test/helpers/hub.js';
import {
  buildDevice,
  freePort,
  killDevice,
  missingToolchain,
  startDevice,
  startStandIn,
  stopDevice,
  tempDir,
  type DeviceProcess,
  type Published,
} from './device-process.js';

// make, several hub restarts and devices sampling in real time: more than the suite's 120 s per file.
t.setTimeout(300_000);

const missing = missingToolchain();
if (missing && process.env.CI === 'true') {
  t.fail(`the C reference device cannot be built: ${missing}`);
} else if (missing) {
  t.comment(`SKIPPING the C reference device tests: ${missing}`);
}
const skip = missing ?? false;

t.before(() => {
  if (!missing) buildDevice();
});

async function deviceView(hub: TestHub, id: string): Promise<DeviceView> {
  return (await hub.api('GET', `/api/devices/${id}`)).body as DeviceView;
}

async function stateView(hub: TestHub, id: string): Promise<DeviceStateView> {
  return (await hub.api('GET', `/api/devices/${id}/state`)).body as DeviceStateView;
}

/** Every stored reading of one metric: raw points (count 1 each) over the last hour. */
async function storedTs(hub: TestHub, id: string, metric: string): Promise<number[]> {
  const res = await hub.api('GET', `/api/devices/${id}/telemetry?metric=${metric}&maxPoints=10000`);
  const body = res.body as HistoryResponse;
  if (body.bucketMs !== 0) throw new Error('expected raw points');
  return (body.series.find((s) => s.metric === metric)?.points ?? []).map((p) => p.ts);
}

/** Device env for the real hub; MQTT port fixed so that a restarted hub is found again. */
function hubEnv(hub: TestHub, id: string, token: string, dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return { HUB_HOST: '127.0.0.1', HUB_MQTT_PORT: String(hub.hub.mqttPort), DEVICE_ID: id, DEVICE_TOKEN: token, DATA_DIR: dataDir, INTERVAL_MS: '200', ...extra };
}

async function hubOnFixedPorts(): Promise<TestHub> {
  return startTestHub(t, { httpPort: await freePort(), mqttPort: await freePort() });
}

const ACKED_ALL = /telemetry_acked .* pending=0$/;

t.test('hello declares metrics, commands, state keys, boot and buffer size; telemetry is stored with seq', { skip }, async (t) => {
  const hub = await startTestHub(t);
  const { token } = await hub.provision('th-c1', 'thermostat');
  const device = startDevice(t, hubEnv(hub, 'th-c1', token, tempDir(t, 'c-device-')));
  await device.waitForCount(/telemetry_acked/, 3);

  const view = await deviceView(hub, 'th-c1');
  const caps = view.capabilities as Capabilities;
  t.equal(caps.kind, 'thermostat');
  t.equal(caps.fw, '1.1.0');
  t.equal(caps.heartbeatSec, 60);
  t.same(caps.metrics, {
    temperature: { type: 'number', unit: '°C', min: -20, max: 60, description: 'room temperature' },
    heating: { type: 'boolean', description: 'valve open' },
  });
  t.same(caps.commands.setMode, { description: 'switch the mode until desired state says otherwise', params: { mode: { type: 'enum', values: ['off', 'heat', 'eco'], required: true } } });
  t.same(caps.commands.identify?.params, { seconds: { type: 'integer', unit: 's', min: 1, max: 60 } });
  t.equal(view.presence.status, 'online');

  // [FP-4.1] 1.1 fields, kept by the hub in capabilities.
  t.same(caps.state, {
    mode: { type: 'enum', values: ['off', 'heat', 'eco'], settable: true, description: 'off, heat, or eco (2 °C below target)' },
    target: { type: 'number', unit: '°C', min: 5, max: 30, settable: true, description: 'set-point, in steps of 0.5 °C' },
    heating: { type: 'boolean', settable: false, description: 'valve open' },
  });
  t.equal(caps.boot, 1);
  t.equal(caps.maxMessageBytes, 4096);

  const acked = device.samples().slice(0, 3);
  t.same(acked.map((s) => [s.boot, s.seq]), [[1, 0], [1, 1], [1, 2]], 'seq from 0 in boot 1');
  const stored = await storedTs(hub, 'th-c1', 'temperature');
  for (const s of acked) t.ok(stored.includes(s.ts), `sample seq ${s.seq} stored at its ts`);
  t.equal(view.stats.seqGaps, 0);
  t.equal(view.stats.errors, 0, 'the hub refused nothing the device sent');
});

t.test('a command is executed and answered; desired state is applied, reported, refused where it cannot apply, and restored after a reboot', { skip }, async (t) => {
  const hub = await startTestHub(t);
  const { token } = await hub.provision('th-c2', 'thermostat');
  const dataDir = tempDir(t, 'c-device-');
  let device = startDevice(t, hubEnv(hub, 'th-c2', token, dataDir));
  await device.waitFor(/telemetry_acked/);

  const posted = await hub.api('POST', '/api/devices/th-c2/commands', { name: 'identify', params: { seconds: 2 } });
  t.equal(posted.status, 202);
  const id = (posted.body as CommandView).id;
  const done = await eventually(async () => {
    const c = (await hub.api('GET', `/api/commands/${id}`)).body as CommandView;
    return c.state === 'succeeded' ? c : null;
  }, 10_000, 'command succeeded');
  t.same(done.result, { seconds: 2 });
  t.equal(device.count(new RegExp(`command_run id=${id} `)), 1, 'executed once');

  const patched = await hub.api('PATCH', '/api/devices/th-c2/state/desired', { state: { mode: 'eco', target: 19.5 } });
  t.equal(patched.status, 200);
  const version = (patched.body as DeviceStateView).version;
  const inSync = await eventually(async () => {
    const s = await stateView(hub, 'th-c2');
    return s.reportedVersion === version && s.reported.mode?.value === 'eco' && s.reported.target?.value === 19.5 ? s : null;
  }, 10_000, 'desired state applied and reported');
  t.same(inSync.delta, {}, 'in sync: nothing pending');

  // [FP-4.1] the hub checks desired values against the declared state keys.
  const outOfRange = await hub.api('PATCH', '/api/devices/th-c2/state/desired', { state: { target: 40 } });
  t.equal(outOfRange.status, 422);
  t.equal((outOfRange.body as { error: string }).error, 'invalid_desired');
  const readOnly = await hub.api('PATCH', '/api/devices/th-c2/state/desired', { state: { heating: true } });
  t.equal(readOnly.status, 422);

  // Valid by the declaration, but off the controller's 0.5 °C steps: the device refuses it [FP-4.3 refused].
  t.equal((await hub.api('PATCH', '/api/devices/th-c2/state/desired', { state: { target: 21.3 } })).status, 200);
  await device.waitFor(/desired_refused key=target reason=target must be a multiple of 0.5/);
  const refused = await eventually(async () => {
    const s = await stateView(hub, 'th-c2');
    return s.refused.target ? s : null;
  }, 10_000, 'refused in the state view');
  t.match(refused.refused.target, { reason: 'target must be a multiple of 0.5 °C: the valve controller cannot hold 21.3', value: 21.3 });
  t.equal(refused.reported.target?.value, 19.5, 'the device kept what it had');

  // [FP-4.3] shadow semantics: the device boots with its defaults (heat, 21.5) and is set back.
  t.equal((await stopDevice(device)).code, 0);
  device = startDevice(t, hubEnv(hub, 'th-c2', token, dataDir));
  await device.waitFor(/ boot boot=2 /);
  const restored = await eventually(async () => {
    const s = await stateView(hub, 'th-c2');
    return s.reported.mode?.value === 'eco' && device.count(/desired_applied key=mode/) === 1 ? s : null;
  }, 10_000, 'desired state applied again after a reboot');
  t.same(restored.delta, { target: 21.3 }, 'what it refused stays pending');
  t.ok(restored.refused.target, 'and refused again');
});

t.test('presence: online, offline (disconnected) after SIGTERM, last-will after kill -9', { skip }, async (t) => {
  const hub = await startTestHub(t);
  const { token } = await hub.provision('th-c3', 'thermostat');
  const dataDir = tempDir(t, 'c-device-');
  let device = startDevice(t, hubEnv(hub, 'th-c3', token, dataDir));
  await eventually(async () => (await deviceView(hub, 'th-c3')).presence.status === 'online', 10_000, 'online');

  const exit = await stopDevice(device);
  t.same(exit, { code: 0, signal: null }, 'clean exit');
  t.match(device.lines.at(-1), / stopped boot=1 /);
  const off = await eventually(async () => {
    const p = (await deviceView(hub, 'th-c3')).presence;
    return p.status === 'offline' ? p : null;
  }, 10_000, 'offline');
  t.equal(off.reason, 'disconnected');

  device = startDevice(t, hubEnv(hub, 'th-c3', token, dataDir));
  await eventually(async () => (await deviceView(hub, 'th-c3')).presence.status === 'online', 10_000, 'online again');
  await device.waitFor(/telemetry_acked/);
  await killDevice(device);
  const lost = await eventually(async () => {
    const p = (await deviceView(hub, 'th-c3')).presence;
    return p.status === 'offline' ? p : null;
  }, 10_000, 'offline after kill -9');
  t.equal(lost.reason, 'last-will', 'the will was published');
});

t.test('outbox: samples taken while the hub is down survive kill -9 and reach the store exactly once, with their boot', { skip }, async (t) => {
  let hub = await hubOnFixedPorts();
  const { token } = await hub.provision('th-c4', 'thermostat');
  const dataDir = tempDir(t, 'c-device-');
  const env = hubEnv(hub, 'th-c4', token, dataDir);
  const first = startDevice(t, env);
  await first.waitForCount(/telemetry_acked/, 5);

  await hub.stop();
  await first.waitFor(/ connection_lost /);
  const from = first.lines.findIndex((l) => / connection_lost /.test(l));
  await first.waitForCount(/ sample boot=1 /, 6, 15_000, from);
  await killDevice(first);

  hub = await hub.restart();
  const second = startDevice(t, env);
  const boot = await second.waitFor(/ boot boot=2 backlog=(\d+) /);
  t.ok(Number(boot[1]) >= 6, `backlog of boot 1 kept across kill -9 (${boot[1]} samples)`);
  await second.waitForCount(/ sample boot=2 /, 4);
  await second.waitFor(ACKED_ALL, 15_000, second.lines.findIndex((l) => / sample boot=2 seq=3 /.test(l)));
  t.equal((await stopDevice(second)).code, 0);

  // What is still in the outbox after the clean stop was never acknowledged: it goes with the next boot.
  const pending = new Set(
    readFileSync(join(dataDir, 'outbox.log'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('S '))
      .map((l) => Number(l.split(' ')[3])),
  );
  const taken = [...first.samples(), ...second.samples()];
  for (const boot of [1, 2]) {
    const seqs = taken.filter((s) => s.boot === boot).map((s) => s.seq);
    t.same(seqs, seqs.map((_, i) => i), `boot ${boot}: seq 0..${seqs.length - 1} without a gap`);
  }
  const expected = taken.filter((s) => !pending.has(s.ts)).map((s) => s.ts).sort((a, b) => a - b);
  const stored = (await storedTs(hub, 'th-c4', 'temperature')).sort((a, b) => a - b);
  t.same(stored, expected, `every acknowledged sample stored exactly once (${expected.length} samples, ${pending.size} still pending)`);
  const view = await deviceView(hub, 'th-c4');
  t.equal(view.stats.seqGaps, 0, 'no gap seen by the hub');
  t.equal(view.stats.errors, 0);
});

t.test('age mode: a clockless device times its backlog by age and learns the hub clock from pong', { skip }, async (t) => {
  let hub = await hubOnFixedPorts();
  const { token } = await hub.provision('th-c5', 'thermostat');
  const env = hubEnv(hub, 'th-c5', token, tempDir(t, 'c-device-'), { TIME_MODE: 'age' });
  const device = startDevice(t, env);
  await device.waitForCount(/telemetry_acked/, 3);

  await hub.stop();
  await device.waitFor(/ connection_lost /);
  const from = device.lines.findIndex((l) => / connection_lost /.test(l));
  await device.waitForCount(/ sample boot=1 /, 5, 15_000, from);
  hub = await hub.restart();
  await device.waitFor(/ connected /, 15_000, from + 1);
  const resumed = device.lines.findIndex((l, i) => i > from && / connected /.test(l));
  // The backlog goes as a batch, each sample timed by its age at sending.
  await device.waitFor(/telemetry_sent boot=1 first_seq=\d+ samples=([2-9]|\d\d+)/, 15_000, resumed);
  await device.waitFor(ACKED_ALL, 15_000, resumed);
  t.equal((await stopDevice(device)).code, 0);

  // Each age-timed sample got a time from the hub; a stored repeat would show as a second point.
  const pendingAtStop = Number(/ pending=(\d+)/.exec(device.lines.at(-1) ?? '')?.[1] ?? 0);
  const stored = await storedTs(hub, 'th-c5', 'temperature');
  t.equal(stored.length, device.samples().length - pendingAtStop, 'every sample stored exactly once');
  const view = await deviceView(hub, 'th-c5');
  t.equal(view.stats.errors, 0, 'no sample refused (bad_timestamp, ts_conflict)');
  // [FP-5] the hub publishes pong once the subscription covers it: the device learnt the hub clock (twice connected).
  t.ok(device.count(/ hub_clock ts=\d+/) >= 1, 'hub clock from pong');
});

// ---- Against a stand-in broker: exact messages, held PUBACKs ----

function telemetryOf(published: Published[], boot: number): { seq: number; sample: Record<string, unknown>; message: Record<string, unknown>; acked: boolean }[] {
  return published
    .filter((p) => p.channel === 'telemetry' && p.payload.boot === boot)
    .flatMap((p) => {
      const samples = (p.payload.samples as Record<string, unknown>[] | undefined) ?? [p.payload];
      return samples.map((s) => ({ seq: s.seq as number, sample: s, message: p.payload, acked: p.acked }));
    });
}

t.test('wire: the backlog of an earlier boot goes as batches with that boot and its seqs; ts from the hub clock in age mode', { skip }, async (t) => {
  const standIn = await startStandIn(t);
  // A hub whose clock is an hour behind the device's: age mode must use the hub's clock.
  const hubSkew = -3_600_000;
  standIn.onSubscribe = () => void standIn.send('th-w', 'pong', { v: 1, type: 'pong', ts: Date.now() + hubSkew });
  const dataDir = tempDir(t, 'c-device-');
  const env = { HUB_MQTT_PORT: String(standIn.port), DEVICE_ID: 'th-w', DEVICE_TOKEN: 'x', DATA_DIR: dataDir, INTERVAL_MS: '200', TIME_MODE: 'age' };
  const first = startDevice(t, env);
  await first.waitFor(/ hub_clock /);
  await first.waitForCount(/telemetry_acked/, 2);

  const hello = standIn.published.find((p) => p.channel === 'hello')?.payload ?? {};
  t.match(hello, { kind: 'thermostat', boot: 1, maxMessageBytes: 4096, heartbeatSec: 60 });
  const single = telemetryOf(standIn.published, 1)[0] ?? { message: {} as Record<string, unknown> };
  t.match(single.message, { boot: 1, seq: 0, metrics: { temperature: Number, heating: Boolean } }, 'one sample: boot and seq on the message');
  t.type(single.message.age, 'number', 'age mode: age, not ts');
  t.notOk('ts' in single.message);

  standIn.holdTelemetry = true;
  const heldFrom = first.lines.length;
  await first.waitForCount(/ sample boot=1 /, 6, 15_000, heldFrom);
  await killDevice(first);
  const inFlight = standIn.published.filter((p) => p.channel === 'telemetry' && !p.acked).length;
  t.ok(inFlight >= 1 && inFlight <= 4, `at most 4 telemetry messages in flight (${inFlight})`);

  standIn.holdTelemetry = false;
  const beforeRestart = standIn.published.length;
  const second = startDevice(t, env);
  await second.waitFor(/ boot boot=2 /);
  await second.waitFor(ACKED_ALL);
  await second.waitForCount(/ sample boot=2 /, 2);
  await second.waitFor(ACKED_ALL, 15_000, second.lines.findIndex((l) => / sample boot=2 seq=1 /.test(l)));

  const resent = telemetryOf(standIn.published.slice(beforeRestart), 1);
  const ackedBefore = telemetryOf(standIn.published.slice(0, beforeRestart), 1).filter((s) => s.acked);
  const allSeqs = first.samples().map((s) => s.seq);
  t.same([...new Set([...ackedBefore, ...resent].map((s) => s.seq))].sort((a, b) => a - b), allSeqs, 'every boot-1 sample acknowledged once or resent');
  t.ok(resent.length >= 6, `backlog resent (${resent.length} samples)`);
  for (const r of resent) {
    // The earlier boot's monotonic clock is gone: its samples go with the hub-clock ts taken when they were made.
    t.notOk('age' in r.sample, `seq ${r.seq}: no age for an earlier boot`);
    const ts = r.sample.ts as number;
    t.ok(Math.abs(ts - (Date.now() + hubSkew)) < 60_000, `seq ${r.seq}: ts on the hub clock`);
  }
  t.ok(standIn.published.slice(beforeRestart).some((p) => p.channel === 'telemetry' && p.payload.boot === 1 && Array.isArray(p.payload.samples)), 'sent as a batch');
  const boot2 = telemetryOf(standIn.published, 2);
  t.equal(boot2[0]?.seq, 0, 'boot 2 starts at seq 0');
});

t.test('wire: commands run once per id, repeats get the first result (also after a restart), expired and bad ones fail unrun', { skip }, async (t) => {
  const standIn = await startStandIn(t);
  const dataDir = tempDir(t, 'c-device-');
  const env = { HUB_MQTT_PORT: String(standIn.port), DEVICE_ID: 'th-k', DEVICE_TOKEN: 'x', DATA_DIR: dataDir, INTERVAL_MS: '1000' };
  let device: DeviceProcess = startDevice(t, env);
  await standIn.subscribed();
  const results = () => standIn.published.filter((p) => p.channel === 'results').map((p) => p.payload);
  const resultsOf = (id: string) => results().filter((r) => r.id === id);

  const cmd = { v: 1, type: 'command', id: 'cmd_A', name: 'identify', params: { seconds: 3 }, expiresAt: Date.now() + 60_000 };
  await standIn.send('th-k', 'commands', cmd);
  await standIn.send('th-k', 'commands', cmd);
  await eventually(() => resultsOf('cmd_A').length === 2, 10_000, 'two answers');
  t.same(resultsOf('cmd_A'), [{ id: 'cmd_A', status: 'succeeded', result: { seconds: 3 } }, { id: 'cmd_A', status: 'succeeded', result: { seconds: 3 } }]);
  t.equal(device.count(/command_run id=cmd_A /), 1, 'executed once');

  await standIn.send('th-k', 'commands', { ...cmd, id: 'cmd_B', expiresAt: Date.now() - 1000 });
  await standIn.send('th-k', 'commands', { ...cmd, id: 'cmd_C', params: { seconds: 3, speed: 2 } });
  await standIn.send('th-k', 'commands', { ...cmd, id: 'cmd_D', name: 'setMode', params: {} });
  await standIn.send('th-k', 'commands', { ...cmd, id: 'cmd_E', name: 'selfDestruct', params: {} });
  await standIn.send('th-k', 'commands', { ...cmd, id: 'cmd_F', name: 'setMode', params: { mode: 'eco' } });
  await eventually(() => resultsOf('cmd_F').length === 1, 10_000, 'five answers');
  t.match(resultsOf('cmd_B'), [{ status: 'failed', error: /^expired: expiresAt \d+ is not after the device clock \d+$/ }]);
  t.same(resultsOf('cmd_C'), [{ id: 'cmd_C', status: 'failed', error: 'unknown parameter "speed"' }]);
  t.same(resultsOf('cmd_D'), [{ id: 'cmd_D', status: 'failed', error: 'missing parameter "mode"' }]);
  t.same(resultsOf('cmd_E'), [{ id: 'cmd_E', status: 'failed', error: 'unknown command "selfDestruct"' }]);
  t.same(resultsOf('cmd_F'), [{ id: 'cmd_F', status: 'succeeded', result: { mode: 'eco' } }]);
  t.equal(device.count(/command_run /), 2, 'only cmd_A and cmd_F ran');
  await eventually(() => standIn.published.some((p) => p.channel === 'state' && (p.payload.state as Record<string, unknown>).mode === 'eco'), 10_000, 'state reported after setMode');

  // The ids survive a restart: a command the hub sends again is answered, not run [FP-4.4].
  t.equal((await stopDevice(device)).code, 0);
  device = startDevice(t, env);
  await standIn.subscribed();
  await standIn.send('th-k', 'commands', cmd);
  await eventually(() => resultsOf('cmd_A').length === 3, 10_000, 'third answer');
  t.same(resultsOf('cmd_A')[2], { id: 'cmd_A', status: 'succeeded', result: { seconds: 3 } });
  t.equal(device.count(/command_run /), 0, 'not run again after the restart');
  t.equal(device.count(/command_duplicate id=cmd_A/), 1);
});

t.test('wire: desired keys are applied and reported with the version; keys it cannot apply are refused with a reason', { skip }, async (t) => {
  const standIn = await startStandIn(t);
  const env = { HUB_MQTT_PORT: String(standIn.port), DEVICE_ID: 'th-d', DEVICE_TOKEN: 'x', DATA_DIR: tempDir(t, 'c-device-'), INTERVAL_MS: '1000' };
  const device = startDevice(t, env);
  await standIn.subscribed();
  await eventually(() => standIn.published.some((p) => p.channel === 'state'), 10_000, 'state after connect');
  const first = standIn.published.find((p) => p.channel === 'state')?.payload;
  t.match(first, { state: { mode: 'heat', target: 21.5, heating: Boolean } }, 'full state after hello, factory defaults');
  t.notOk(first && 'version' in first, 'no version before any desired state');
  const states = () => standIn.published.filter((p) => p.channel === 'state').map((p) => p.payload);

  await standIn.send('th-d', 'desired', { v: 1, type: 'desired', state: { mode: 'eco', target: 19, unknownKey: 1, window: null }, version: 3, delta: { mode: 'eco', target: 19 } });
  await eventually(() => states().some((s) => s.version === 3), 10_000, 'state with version 3');
  t.match(states().find((s) => s.version === 3), { state: { mode: 'eco', target: 19 }, version: 3 });
  t.notOk(states().find((s) => s.version === 3)?.refused, 'unknown keys are ignored, not refused');

  await standIn.send('th-d', 'desired', { v: 1, type: 'desired', state: { mode: 'turbo', target: 19.3, heating: true }, version: 4 });
  await eventually(() => states().some((s) => s.version === 4), 10_000, 'state with version 4');
  t.same(states().find((s) => s.version === 4)?.refused, {
    mode: 'mode must be one of off, heat, eco',
    target: 'target must be a multiple of 0.5 °C: the valve controller cannot hold 19.3',
    heating: 'heating is read-only: the thermostat opens the valve itself',
  });
  t.match(states().find((s) => s.version === 4), { state: { mode: 'eco', target: 19 } }, 'kept what it had');
  t.equal(device.count(/desired_refused /), 3);
});
