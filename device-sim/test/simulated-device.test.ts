/**
 * A model behind a device, without a network: commands get results as
 * FP-4.4/4.5 ask (once per id, never after expiry), desired state is
 * applied and reported with its version (FP-4.3), and state changes are
 * reported as they happen.
 */
import t from 'tap';
import { silentLogger } from '../src/log.js';
import { ContactSensor, DimmableLight, EnergyMeter, type DeviceModel } from '../src/models/index.js';
import { SimulatedDevice } from '../src/simulated-device.js';
import { FakeConnection, settle } from './helpers/fake-connection.js';

const NOW = Date.UTC(2024, 5, 1, 12, 0, 0);

async function startDevice(t: { teardown(fn: () => unknown): void }, model: DeviceModel = new DimmableLight({ seed: 1 }), now = () => NOW) {
  const connection = new FakeConnection();
  // An hour between samples: the test drives everything itself.
  const device = new SimulatedDevice({ model, connection, intervalMs: 3_600_000, startDelayMs: 3_600_000, log: silentLogger, now });
  await device.start();
  t.teardown(() => device.stop());
  await settle();
  return { connection, device };
}

t.test('on connect: hello, then full state', async (t) => {
  const { connection } = await startDevice(t);
  t.same(connection.sent.map((s) => s.kind), ['hello', 'state']);
  t.equal(connection.of('hello')[0]?.kind, 'dimmable-light');
  t.same(connection.of('state')[0], { state: new DimmableLight({ seed: 1 }).state() });
});

t.test('a command: acknowledged, succeeded with the result, then the changed state', async (t) => {
  const { connection } = await startDevice(t);
  connection.sent.length = 0;
  connection.emit('command', { v: 1, type: 'command', id: 'c1', name: 'turn_on', params: { brightness: 40 } });
  await settle();
  t.same(connection.sent, [
    { kind: 'result', body: { id: 'c1', status: 'acknowledged' } },
    { kind: 'result', body: { id: 'c1', status: 'succeeded', result: { on: true, brightness: 40 } } },
    { kind: 'state', body: { state: { on: true, brightness: 40 } } },
  ]);
});

t.test('a redelivered command id is not executed again; it gets the same final result', async (t) => {
  const { connection } = await startDevice(t);
  connection.emit('command', { v: 1, type: 'command', id: 'c1', name: 'toggle', params: {} });
  await settle();
  const stateAfterFirst = connection.of('state').at(-1);
  connection.sent.length = 0;
  connection.emit('command', { v: 1, type: 'command', id: 'c1', name: 'toggle', params: {} });
  await settle();
  t.same(connection.sent, [{ kind: 'result', body: { id: 'c1', status: 'succeeded', result: stateAfterFirst?.state } }]);
});

t.test('bad params, unknown commands, expired commands and devices without commands fail with a reason', async (t) => {
  const { connection } = await startDevice(t);
  connection.sent.length = 0;
  connection.emit('command', { v: 1, type: 'command', id: 'c2', name: 'set_brightness', params: { brightness: 900 } });
  connection.emit('command', { v: 1, type: 'command', id: 'c3', name: 'fly', params: {} });
  connection.emit('command', { v: 1, type: 'command', id: 'c4', name: 'turn_on', params: {}, expiresAt: NOW });
  await settle();
  const finals = connection.of('result').filter((r) => r.status !== 'acknowledged').sort((a, b) => a.id.localeCompare(b.id));
  t.same(finals, [
    { id: 'c2', status: 'failed', error: 'parameter "brightness" must be at most 100' },
    { id: 'c3', status: 'failed', error: 'unknown command "fly"' },
    { id: 'c4', status: 'failed', error: 'expired before it could start' },
  ]);
  t.same(connection.of('state'), [], 'nothing changed, no state report');

  const meter = await startDevice(t, new EnergyMeter({ seed: 1 }));
  meter.connection.sent.length = 0;
  meter.connection.emit('command', { v: 1, type: 'command', id: 'm1', name: 'reset', params: {} });
  await settle();
  t.same(meter.connection.sent, [{ kind: 'result', body: { id: 'm1', status: 'failed', error: 'a energy-meter takes no commands' } }]);
});

t.test('desired state: applied, then reported with its version and the keys it cannot apply', async (t) => {
  const { connection } = await startDevice(t);
  connection.sent.length = 0;
  connection.emit('desired', { v: 1, type: 'desired', state: { on: true, brightness: 70, colour: 'red' }, version: 7, delta: { on: true, colour: 'red' } });
  await settle();
  t.same(connection.sent, [{ kind: 'state', body: { state: { on: true, brightness: 70 }, version: 7, refused: { colour: 'unknown state key' } } }]);
  connection.sent.length = 0;
  connection.emit('desired', { v: 1, type: 'desired', state: { on: false }, version: 8, delta: { on: false } });
  await settle();
  t.same(connection.sent, [{ kind: 'state', body: { state: { on: false, brightness: 70 }, version: 8 } }], 'no refused field when everything applied');
});

t.test('desired state that arrives before the link is open: its version goes with the state after hello', async (t) => {
  const { connection } = await startDevice(t);
  connection.lose();
  // On the WebSocket the hub sends desired right after welcome, before the device counts the link as open.
  connection.emit('desired', { v: 1, type: 'desired', state: { on: true, brightness: 30 }, version: 4 });
  await settle();
  connection.sent.length = 0;
  connection.reconnect();
  await settle();
  t.same(connection.of('state'), [{ state: { on: true, brightness: 30 }, version: 4 }], 'applied, and reported with its version after hello');
});

t.test('a state change between samples (a door opening) is reported with the sample', async (t) => {
  let now = Date.UTC(2024, 5, 1, 18, 0, 0);
  const door = new ContactSensor({ seed: 3, variant: 'door' });
  const connection = new FakeConnection();
  const device = new SimulatedDevice({ model: door, connection, intervalMs: 5, log: silentLogger, now: () => (now += 20_000) });
  t.teardown(() => device.stop());
  await device.start();
  const states = await new Promise<unknown[]>((resolve) => {
    const poll = setInterval(() => {
      const reported = connection.of('state').map((s) => s.state.contact);
      if (new Set(reported).size === 2) {
        clearInterval(poll);
        resolve(reported);
      }
    }, 5);
  });
  t.ok(states.includes('open') && states.includes('closed'), 'open and closed reported');
  await device.stop();
  const telemetry = connection.of('telemetry');
  const reported = connection.of('state').slice(1);
  t.ok(telemetry.length > reported.length, 'a state report only on change, not every sample');
});

t.test('store and forward: samples taken while offline go as one batch after hello and state, seq kept', async (t) => {
  let now = NOW;
  const connection = new FakeConnection();
  const device = new SimulatedDevice({ model: new DimmableLight({ seed: 2 }), connection, intervalMs: 5, log: silentLogger, now: () => (now += 1000) });
  t.teardown(() => device.stop());
  await device.start();
  await waitFor(() => connection.of('telemetry').length >= 2);
  connection.lose();
  await waitFor(() => device.queued >= 3);
  connection.sent.length = 0;
  connection.reconnect();
  await waitFor(() => connection.of('batch').length === 1);
  t.same(connection.sent.slice(0, 3).map((s) => s.kind), ['hello', 'state', 'batch']);
  const batch = connection.of('batch')[0] ?? [];
  t.ok(batch.length >= 3, `${batch.length} kept samples`);
  const seqs = batch.map((s) => s.seq);
  t.same(seqs, seqs.map((_, i) => (seqs[0] as number) + i), 'consecutive seq, in order');
  t.ok(batch.every((s, i) => i === 0 || s.ts > (batch[i - 1] as { ts: number }).ts), 'each with the time it was taken');
  t.equal(device.queued, 0);
  await device.stop();
  t.equal(device.stats.sent, device.stats.acked + device.stats.failed, 'every sample acked or failed');
  t.equal(device.stats.failed, 0, 'nothing lost: the link came back');
});

t.test('kept samples go with the next reading when hello after the reconnect was not acknowledged', async (t) => {
  const connection = new FakeConnection();
  const device = new SimulatedDevice({ model: new DimmableLight({ seed: 2 }), connection, intervalMs: 5, log: silentLogger });
  t.teardown(() => device.stop());
  await device.start();
  connection.lose();
  await waitFor(() => device.queued >= 2);
  connection.unanswered.add('hello');
  connection.reconnect();
  await waitFor(() => connection.of('batch').length === 1);
  t.equal(connection.of('state').length, 1, 'no state after the failed hello: only the first connect reported');
  await device.stop();
  t.equal(device.stats.sent, device.stats.acked + device.stats.failed);
});

t.test('samples kept at stop() count as failed', async (t) => {
  const connection = new FakeConnection();
  const device = new SimulatedDevice({ model: new DimmableLight({ seed: 2 }), connection, intervalMs: 5, log: silentLogger });
  t.teardown(() => device.stop());
  await device.start();
  connection.lose();
  await waitFor(() => device.queued >= 2);
  await device.stop();
  t.equal(device.queued, 0);
  t.ok(device.stats.failed >= 2);
  t.equal(device.stats.sent, device.stats.acked + device.stats.failed);
});

function waitFor(check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      if (!check()) return;
      clearInterval(poll);
      resolve();
    }, 2);
  });
}

t.test('hello names the boot; a restarted device names a later one, a reconnect the same', async (t) => {
  const first = await startDevice(t, new DimmableLight({ seed: 1 }));
  const boot = first.connection.of('hello')[0]?.boot;
  t.type(boot, 'number');
  first.connection.lose();
  first.connection.reconnect();
  await settle();
  t.same(first.connection.of('hello').map((h) => h.boot), [boot, boot], 'a reconnect is not a reboot');
  await first.device.stop();
  const again = await startDevice(t, new DimmableLight({ seed: 1 }));
  t.ok((again.connection.of('hello')[0]?.boot as number) > (boot as number), 'the restart raised it');
});
