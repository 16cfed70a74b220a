/**
 * --max-device-outbound-kb: a device that stops reading what the hub sends it
 * is disconnected instead of making the hub buffer without bound; other
 * devices are not affected.
 */
import type { Socket } from 'node:net';
import t from 'tap';
import { deviceSocket, eventually, type JsonSocket } from '../helpers/clients.js';
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
