/**
 * Overload (issue 8): devices flooding QoS 0 with no flow control. The hub
 * pushes back: past --ingest-max-in-flight messages being handled (or with
 * its event loop behind) it reads no device socket, so what the flooders
 * write piles up in the kernel's buffers, not in the hub; it stays up, its
 * memory stays bounded, and once the flood ends a normal device connects
 * and gets its PUBACK and the API answers.
 *
 * Raw sockets write pre-encoded PUBLISH packets as fast as each takes them.
 * No per-device rate here (--device-rate 0), so nothing is dropped on the
 * way in and every message read is a message handled.
 */
import { connect, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { connectMqtt } from '../helpers/clients.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

const FLOODERS = 5;
const FLOOD_MS = 3000;
/** Small, so the cap is reached many times in a few seconds. */
const MAX_IN_FLIGHT = 200;
/** One read of a device socket hands the broker at most 8 KiB, about 80 of these packets. */
const ONE_READ_SLACK = 100;
const PAYLOAD = JSON.stringify({ metrics: { temperature: 21.5, humidity: 40.1 } });
/** The hub's memory may grow this much over the flood (it is bounded by the cap, not by the flood). */
const RSS_GROWTH_BOUND = 150 * 1024 * 1024;

function str(s: string): Buffer {
  const body = Buffer.from(s);
  return Buffer.concat([Buffer.from([body.length >> 8, body.length & 0xff]), body]);
}

/** [MQTT-2.2.3] remaining length, for the short packets built here (< 16,384 bytes). */
function packet(firstByte: number, body: Buffer): Buffer {
  const len = body.length < 128 ? [body.length] : [(body.length % 128) | 0x80, Math.floor(body.length / 128)];
  return Buffer.concat([Buffer.from([firstByte, ...len]), body]);
}

/** CONNECT, MQTT 3.1.1, clean session, user name and password, keepalive 0 [MQTT-3.1]. */
const connectPacket = (id: string, token: string) => packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 0]), str(id), str(id), str(token)]));
/** PUBLISH QoS 0 [MQTT-3.3]. */
const publishPacket = (id: string) => packet(0x30, Buffer.concat([str(`devices/${id}/telemetry`), Buffer.from(PAYLOAD)]));

async function metric(hub: TestHub, name: string): Promise<number> {
  const text = (await hub.api('GET', '/metrics')).body as string;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.slice(name.length + 1));
}

interface Flooder {
  socket: Socket;
  /** Bytes whose write completed: handed to the kernel. */
  flushed: number;
  packetBytes: number;
}

/** Connects, waits for CONNACK 0, then writes chunks of ~16 KiB of PUBLISH packets for as long as `flooding()`. */
async function startFlooder(t: Test, hub: TestHub, id: string, token: string, flooding: () => boolean): Promise<Flooder> {
  const socket = connect(hub.hub.mqttPort, '127.0.0.1');
  t.teardown(() => void socket.destroy());
  socket.on('error', () => undefined);
  socket.write(connectPacket(id, token));
  const connack = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
  if (connack[0] !== 0x20 || connack[3] !== 0) throw new Error(`${id}: CONNACK ${connack.toString('hex')}`);
  socket.on('data', () => undefined);
  const one = publishPacket(id);
  const chunk = Buffer.concat(Array.from({ length: Math.floor(16_384 / one.length) }, () => one));
  const flooder: Flooder = { socket, flushed: 0, packetBytes: one.length };
  const pump = (): void => {
    while (flooding() && !socket.destroyed && socket.write(chunk, (err) => void (err || (flooder.flushed += chunk.length))));
  };
  socket.on('drain', pump);
  setImmediate(pump);
  return flooder;
}

t.test('a QoS 0 flood is pushed back: the hub stays up, bounded, and serves normally afterwards', async (t) => {
  const hub = await startTestHub(t, { deviceRate: 0, ingestMaxInFlight: MAX_IN_FLIGHT });
  const devices = await Promise.all(Array.from({ length: FLOODERS }, (_, i) => hub.provision(`flood-${i}`)));
  const normal = await hub.provision('normal');

  let flooding = true;
  const flooders = await Promise.all(devices.map((d) => startFlooder(t, hub, d.id, d.token, () => flooding)));
  const handledBefore = await metric(hub, 'iot_hub_device_messages_total{direction="in",transport="mqtt"}');
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 100);
  t.teardown(() => clearInterval(sampler));
  await new Promise((resolve) => setTimeout(resolve, FLOOD_MS));
  flooding = false;
  clearInterval(sampler);

  const written = flooders.reduce((n, f) => n + f.flushed, 0);
  const packetBytes = flooders[0]?.packetBytes ?? 1;
  // The figures are taken while the flooders are still connected: the hub is still reading
  // what the kernel holds, so this is what it had read by now.
  const handled = (await metric(hub, 'iot_hub_device_messages_total{direction="in",transport="mqtt"}')) - handledBefore;
  const maxInFlight = await metric(hub, 'iot_hub_ingest_in_flight_max');
  const pauses = (await metric(hub, 'iot_hub_ingest_paused_total{reason="in_flight"}')) + (await metric(hub, 'iot_hub_ingest_paused_total{reason="lag"}'));
  t.comment(`flooders handed the kernel ${(written / 1e6).toFixed(1)} MB (${Math.round(written / packetBytes)} messages); the hub handled ${handled}; max in flight ${maxInFlight}; reads paused ${pauses} times; RSS ${(rssBefore / 1e6).toFixed(0)} → peak ${(rssPeak / 1e6).toFixed(0)} MB`);

  t.ok(handled > 0, 'the hub handled part of the flood');
  t.ok(handled * packetBytes < written / 2, 'it read less than half of what the flooders wrote: the rest waits in the kernel, not in the hub');
  t.ok(pauses > 0, 'it stopped reading device sockets while behind');
  t.ok(maxInFlight <= MAX_IN_FLIGHT + ONE_READ_SLACK, `messages in flight stayed at the cap (${maxInFlight} ≤ ${MAX_IN_FLIGHT} + one read)`);
  t.ok(rssPeak - rssBefore < RSS_GROWTH_BOUND, `memory stayed bounded (grew ${((rssPeak - rssBefore) / 1e6).toFixed(0)} MB)`);

  // All disconnect at once, as when their network drops.
  for (const f of flooders) f.socket.resetAndDestroy();

  const client = await connectMqtt(t, hub, normal.id, normal.token, { connectTimeout: 10_000 });
  await client.publishAsync(`devices/${normal.id}/telemetry`, JSON.stringify({ seq: 1, metrics: { v: 1 } }), { qos: 1 });
  t.pass('afterwards a normal device connects and gets its PUBACK');
  const health = await hub.api('GET', '/healthz');
  t.equal(health.status, 200, 'and the API answers');
  t.match(health.body, { status: 'ok' });
});
