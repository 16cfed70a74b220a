/**
 * --max-device-outbound-kb: a device that stops reading what the hub sends it
 * is disconnected instead of making the hub buffer without bound; other
 * devices are not affected.
 */
import type { Socket } from 'node:net';
import t from 'tap';
import { connectMqtt, deviceSocket, eventually, mqttClosed, type JsonSocket } from '../helpers/clients.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

/** The value of one sample line of /metrics. */
async function metric(hub: TestHub, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** The TCP socket under a ws client (ws keeps it in a private field). */
function tcp(device: JsonSocket): Socket {
  return (device.ws as unknown as { _socket: Socket })._socket;
}

t.test('a WebSocket device that stops reading is closed with 1008 and counted; another device keeps working', async (t) => {
  // No rate limit, so the hub answers as fast as the device asks; a 16 KiB cap.
  const hub = await startTestHub(t, { maxDeviceOutboundKb: 16, deviceRate: 0 });
  const slow = await hub.provision('slow-1');
  const fine = await hub.provision('fine-1');
  const reader = await deviceSocket(t, hub, fine.id, fine.token);
  const device = await deviceSocket(t, hub, slow.id, slow.token);
  await device.next((f) => f.type === 'welcome');
  tcp(device).pause();

  // Each ping gets a pong; once the kernel buffers between hub and device are full, the pongs
  // pile up in the hub until the cap. Send in rounds, yielding so the hub can answer.
  const overflowed = () => metric(hub, 'iot_hub_device_outbound_overflows_total{transport="ws"}');
  for (let round = 0; round < 200 && (await overflowed()) === 0; round++) {
    for (let i = 0; i < 2000; i++) device.send({ v: 1, type: 'ping', mid: round * 2000 + i });
    await new Promise((r) => setTimeout(r, 20));
  }
  t.equal(await overflowed(), 1, 'counted once');

  // The other device is served as before.
  reader.send({ v: 1, type: 'ping' });
  t.match(await reader.next((f) => f.type === 'pong'), { type: 'pong' });

  // Reading again, the device gets what was queued, then the close.
  tcp(device).resume();
  t.same(await device.closed, { code: 1008, reason: 'not reading' });
  await eventually(async () => (await metric(hub, 'iot_hub_connections{kind="ws"}')) === 1, 5000, 'the session to end');
  t.equal(await overflowed(), 1, 'still once');
});

t.test('an MQTT device that stops reading its commands is dropped and counted', async (t) => {
  const hub = await startTestHub(t, { maxDeviceOutboundKb: 16, maxPendingCommands: 10_000 });
  const { id, token } = await hub.provision('slow-mqtt-1');
  const device = await connectMqtt(t, hub, id, token);
  await device.publishAsync(`devices/${id}/hello`, '{"kind":"plug","commands":{"say":{"params":{"text":{"type":"string"}}}}}', { qos: 1 });
  await device.subscribeAsync(`devices/${id}/commands`);
  const closed = mqttClosed(device);
  device.stream.pause();

  // Commands of ~32 KiB each: a few hundred fill the kernel buffers, then the hub's own.
  const text = 'x'.repeat(32 * 1024);
  const overflowed = () => metric(hub, 'iot_hub_device_outbound_overflows_total{transport="mqtt"}');
  for (let round = 0; round < 100 && (await overflowed()) === 0; round++) {
    await Promise.all(Array.from({ length: 20 }, () => hub.api('POST', `/api/devices/${id}/commands`, { name: 'say', params: { text } })));
  }
  t.equal(await overflowed(), 1, 'counted once');
  device.stream.resume();
  await closed;
  await eventually(async () => (await metric(hub, 'iot_hub_connections{kind="mqtt"}')) === 0, 5000, 'the session to end');
});
