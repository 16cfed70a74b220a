/**
 * Each fault against a real hub produces what it claims: malformed
 * messages get the named error, oversize ones end the connection,
 * duplicates are counted and stored once, late samples are stored,
 * clock skew moves ts (or is refused past the window), disconnects and
 * offline periods show in presence and end in a reconnect.
 */
import t from 'tap';
import type { DeviceView, ErrorMessage, HistoryResponse } from '@iot-hub/protocol';
import { startTestHub, type TestHub } from '../../hub/test/helpers/hub.js';
import { eventually } from '../../hub/test/helpers/clients.js';
import { FaultInjector, MALFORMED_KINDS, type FaultOptions } from '../src/faults.js';
import { silentLogger } from '../src/log.js';
import { ClimateSensor } from '../src/models/index.js';
import { Random } from '../src/random.js';
import { SimulatedDevice } from '../src/simulated-device.js';
import type { DeviceConnectionBase } from '../src/transports/connection.js';
import type { DeviceSimError } from '../src/transports/errors.js';
import { MqttDevice } from '../src/transports/mqtt-device.js';
import { WsDevice, deviceWsUrl } from '../src/transports/ws-device.js';

type Transport = 'mqtt' | 'ws';
type View = DeviceView & { stats: { messages: number; duplicates: number; seqGaps: number; errors: number } };

interface Setup {
  hub: TestHub;
  id: string;
  device: DeviceConnectionBase;
  faults: FaultInjector;
  hubErrors: ErrorMessage[];
  drops: string[];
  connects: number;
}

async function setUp(t: { teardown(fn: () => unknown): void }, transport: Transport, options: FaultOptions = {}, initialBackoffMs = 100): Promise<Setup> {
  const hub = await startTestHub(t);
  const id = `${transport}-faulty`;
  const { token } = await hub.provision(id, 'climate-sensor');
  const backoff = { initialMs: initialBackoffMs, maxMs: initialBackoffMs * 2 };
  const device: DeviceConnectionBase =
    transport === 'mqtt' ? new MqttDevice({ url: hub.mqttUrl, id, token, backoff }) : new WsDevice({ url: deviceWsUrl(hub.httpUrl), id, token, backoff });
  const faults = new FaultInjector(device, options, new Random(1));
  const setup: Setup = { hub, id, device, faults, hubErrors: [], drops: [], connects: 0 };
  device.on('hubError', (error) => setup.hubErrors.push(error));
  device.on('disconnected', (reason) => setup.drops.push(reason));
  device.on('connected', () => setup.connects++);
  t.teardown(async () => {
    faults.stop();
    await device.close();
  });
  await device.connect();
  faults.start();
  return setup;
}

async function view(hub: TestHub, id: string): Promise<View> {
  return (await hub.api('GET', `/api/devices/${id}`)).body as View;
}

async function stored(hub: TestHub, id: string, metric = 'temperature'): Promise<number> {
  const history = (await hub.api('GET', `/api/devices/${id}/telemetry?metric=${metric}&from=0`)).body as HistoryResponse;
  return history.series.flatMap((s) => s.points).reduce((n, p) => n + p.count, 0);
}

for (const transport of ['mqtt', 'ws'] as const) {
  t.test(`${transport}: each malformed message gets the error it is named after`, async (t) => {
    const s = await setUp(t, transport);
    for (const kind of MALFORMED_KINDS) {
      await s.faults.malformed(kind);
      const error = await eventually(() => s.hubErrors.find((e) => e.error === kind), 5000, `${kind} error`);
      t.match(error, { v: 1, type: 'error', code: 400, error: kind }, kind);
    }
    t.equal(s.hubErrors.length, MALFORMED_KINDS.length, 'one error each, nothing else');
    t.equal(s.faults.stats.malformed, MALFORMED_KINDS.length);
    t.equal(await s.device.sendTelemetry({ metrics: { temperature: 20 } }), 0, 'the device carries on');
    t.equal(await stored(s.hub, s.id), 1, 'nothing of the malformed messages was stored');
  });

  t.test(`${transport}: an oversize message ends the connection; the device reconnects`, async (t) => {
    const s = await setUp(t, transport);
    await s.faults.oversize().catch((err: unknown) => {
      // MQTT: the hub closes before the PUBACK, so the publish fails with the link.
      t.equal((err as DeviceSimError).code, 'connection_lost');
    });
    await eventually(() => s.drops.length === 1 && s.connects === 2, 10_000, 'a drop and a reconnect');
    if (transport === 'ws') t.match(s.drops[0], /\(1009\b/, 'WebSocket close 1009');
    else t.match(s.drops[0], /MQTT connection .* lost/);
    t.equal(s.hubErrors.length, 0, 'no error message: the transport cannot carry one [FP-3]');
    await s.device.sendTelemetry({ metrics: { temperature: 20 } });
    t.equal(await stored(s.hub, s.id), 1);
  });

  t.test(`${transport}: duplicates are acknowledged, stored once and counted by the hub`, async (t) => {
    const s = await setUp(t, transport, { duplicateRate: 1 });
    for (let i = 0; i < 5; i++) await s.faults.sendTelemetry({ metrics: { temperature: 20 + i } });
    // seq 0 is never duplicated (it resets the hub's window [FP-4.2]): seq 1..4 are.
    t.equal(s.faults.stats.duplicates, 4);
    const v = await eventually(async () => {
      const current = await view(s.hub, s.id);
      return current.stats.duplicates === 4 ? current : null;
    }, 5000, 'the hub counts 4 duplicates');
    t.equal(v.stats.duplicates, 4);
    t.equal(await stored(s.hub, s.id), 5, 'each sample stored once');
  });

  t.test(`${transport}: samples sent out of order are all stored, none taken for a duplicate`, async (t) => {
    const s = await setUp(t, transport, { reorderRate: 1 });
    const sends: Promise<void>[] = [];
    // seq 0 goes first; then every other sample is held back behind the next: 0, 2, 1, 4, 3.
    for (let i = 0; i < 5; i++) sends.push(s.faults.sendTelemetry({ metrics: { temperature: 20 + i } }));
    await Promise.all(sends);
    t.equal(s.faults.stats.reordered, 2);
    t.equal(await stored(s.hub, s.id), 5);
    t.equal((await view(s.hub, s.id)).stats.duplicates, 0);
  });

  t.test(`${transport}: clock skew shifts ts within the window and is refused beyond it`, async (t) => {
    const ahead = await setUp(t, transport, { clockSkewMs: 120_000 });
    const now = Date.now();
    const ts = ahead.faults.timestamp(now);
    t.equal(ts, now + 120_000);
    await ahead.faults.sendTelemetry({ metrics: { temperature: 21 }, ts });
    t.same((await view(ahead.hub, ahead.id)).latest.temperature, { value: 21, ts }, 'stored with the skewed ts');

    const far = await setUp(t, transport, { clockSkewMs: 3_600_000 });
    const sent = far.faults.sendTelemetry({ metrics: { temperature: 22 }, ts: far.faults.timestamp(Date.now()) });
    if (transport === 'ws') {
      // The WebSocket answers the message itself [FP-3.2].
      const err = await sent.then(() => null, (e: unknown) => e);
      t.equal((err as DeviceSimError).hubError?.error, 'bad_timestamp');
    } else {
      await sent; // PUBACK anyway: MQTT 3.1.1 has no negative ack [FP-3.1]
      const error = await eventually(() => far.hubErrors.find((e) => e.error === 'bad_timestamp'), 5000, 'bad_timestamp on errors');
      t.equal(error.code, 400);
    }
    t.equal(await stored(far.hub, far.id), 0);
  });

  t.test(`${transport}: a dropped link shows as lost in presence, then the device is back`, async (t) => {
    // A slow first retry leaves time to see the device offline.
    const s = await setUp(t, transport, {}, 4000);
    s.faults.disconnect();
    const offline = await eventually(async () => {
      const v = await view(s.hub, s.id);
      return v.presence.status === 'offline' ? v : null;
    }, 5000, 'offline');
    t.match(offline.presence.reason, transport === 'mqtt' ? /^(connection-lost|last-will)$/ : /^connection-lost$/);
    await eventually(() => s.connects === 2, 10_000, 'reconnected');
    const online = await eventually(async () => {
      const v = await view(s.hub, s.id);
      return v.presence.status === 'online' ? v : null;
    }, 5000, 'online again');
    t.equal(online.presence.reason, 'connected');
    t.equal(s.faults.stats.drops, 1);
  });

  t.test(`${transport}: a network flap drops the link again each time it is back; the device ends online`, async (t) => {
    const s = await setUp(t, transport);
    await s.faults.flap(3);
    await eventually(() => s.connects === 4, 10_000, 'back after the third drop');
    t.equal(s.drops.length, 3);
    t.same([s.faults.stats.flaps, s.faults.stats.drops], [1, 3]);
    await s.device.sendTelemetry({ metrics: { temperature: 20 } });
    const v = await eventually(async () => {
      const current = await view(s.hub, s.id);
      return current.presence.status === 'online' ? current : null;
    }, 5000, 'online at the end');
    t.equal(v.presence.reason, 'connected');
  });

  t.test(`${transport}: an offline period is a clean disconnect, then a reconnect`, async (t) => {
    const s = await setUp(t, transport);
    await s.faults.offline(3000);
    t.equal(s.device.connected, false);
    const offline = await eventually(async () => {
      const v = await view(s.hub, s.id);
      return v.presence.status === 'offline' ? v : null;
    }, 5000, 'offline');
    t.equal(offline.presence.reason, 'disconnected');
    await t.rejects(s.device.sendTelemetry({ metrics: { temperature: 1 } }), { code: 'not_connected' }, 'nothing goes out while away');
    await eventually(() => s.connects === 2, 10_000, 'back after the period');
    t.equal(s.drops.length, 1);
    await s.device.sendTelemetry({ metrics: { temperature: 20 } });
    t.equal((await view(s.hub, s.id)).presence.status, 'online');
  });
}

for (const transport of ['mqtt', 'ws'] as const) {
  t.test(`${transport}: readings taken during an offline period reach the hub after it, each stored once`, async (t) => {
    const hub = await startTestHub(t);
    const id = `${transport}-away`;
    const { token } = await hub.provision(id, 'climate-sensor');
    const connection: DeviceConnectionBase =
      transport === 'mqtt' ? new MqttDevice({ url: hub.mqttUrl, id, token }) : new WsDevice({ url: deviceWsUrl(hub.httpUrl), id, token });
    let connects = 0;
    connection.on('connected', () => connects++);
    const device = new SimulatedDevice({ model: new ClimateSensor({ seed: 1 }), connection, intervalMs: 50, log: silentLogger });
    t.teardown(() => device.stop());
    await device.start();
    await eventually(() => device.stats.acked >= 3, 5000, 'a few readings acknowledged');

    let kept = 0;
    const watch = setInterval(() => (kept = Math.max(kept, device.queued)), 5);
    t.teardown(() => clearInterval(watch));
    const ackedBefore = device.stats.acked;
    await device.faults?.offline(1000);
    await eventually(() => connects === 2 && kept >= 5, 10_000, 'readings kept while away, then back');
    clearInterval(watch);
    await eventually(() => device.stats.acked >= ackedBefore + kept, 10_000, 'the kept readings acknowledged after the reconnect');
    await device.stop();

    const { sent, acked, failed } = device.stats;
    t.equal(sent, acked + failed, 'every reading acknowledged or failed');
    const count = await stored(hub, id);
    // Nothing acknowledged is lost; a reading whose ack was lost with the link is resent and dropped by seq.
    t.ok(count >= acked && count <= sent, `stored ${count}, acked ${acked}, sent ${sent}`);
    t.ok(failed < sent / 2, `only readings in flight at stop() failed (${failed})`);
  });
}

for (const transport of ['mqtt', 'ws'] as const) {
  t.test(`${transport}: a slow reader gets its ack once it reads again; another device is served meanwhile`, async (t) => {
    const slow = await setUp(t, transport);
    const { token } = await slow.hub.provision(`${transport}-other`, 'climate-sensor');
    const other: DeviceConnectionBase =
      transport === 'mqtt' ? new MqttDevice({ url: slow.hub.mqttUrl, id: `${transport}-other`, token }) : new WsDevice({ url: deviceWsUrl(slow.hub.httpUrl), id: `${transport}-other`, token });
    t.teardown(() => other.close());
    await other.connect();

    slow.faults.slowReader(3000);
    let slowAcked = false;
    const slowSend = slow.device.sendTelemetry({ metrics: { temperature: 19 } }).then(() => (slowAcked = true));
    await other.sendTelemetry({ metrics: { temperature: 23 } });
    t.equal(slowAcked, false, 'the slow reader has not read its ack yet while the other device got its own');
    await slowSend;
    t.equal(slowAcked, true, 'delivered once it reads again');
    t.equal(await stored(slow.hub, slow.id), 1);
    t.equal(slow.faults.stats.stalls, 1);
  });
}
