/**
 * Issue 18 item 13a: devices speak MQTT 3.1.1 only [FP-3.1]. A CONNECT for
 * MQTT 3.1 (protocol name MQIsdp, level 3) gets CONNACK 1 (unacceptable
 * protocol version) and the connection is closed, even with good
 * credentials; the same device connects with 3.1.1.
 */
import t from 'tap';
import { connect as tcpConnect } from 'node:net';
import { connectMqtt } from '../../helpers/clients.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';

/** A CONNECT with the given protocol name and level; the bytes answered until the hub closes (or, when accepted, the CONNACK). */
async function rawConnect(hub: TestHub, protocolName: string, level: number, id: string, token: string, untilClose = true): Promise<Buffer> {
  const str = (s: string) => [Buffer.from([0, Buffer.byteLength(s)]), Buffer.from(s)];
  // Flags 0xc2: username, password, clean session; keep alive 60 s.
  // MQTT 5 adds a properties length (0) after the keep alive.
  const header = level === 5 ? [level, 0xc2, 0, 60, 0] : [level, 0xc2, 0, 60];
  const body = Buffer.concat([...str(protocolName), Buffer.from(header), ...str(id), ...str(id), ...str(token)]);
  const socket = tcpConnect(hub.hub.mqttPort, '127.0.0.1');
  socket.on('error', () => undefined);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((r) => socket.once('connect', r));
  socket.write(Buffer.concat([Buffer.from([0x10, body.length]), body]));
  await new Promise((r) => (socket.once(untilClose ? 'close' : 'data', r), setTimeout(r, 5000).unref()));
  socket.destroy();
  return Buffer.concat(chunks);
}

t.test('MQTT 3.1 (MQIsdp, level 3) gets CONNACK 1 and is closed; 3.1.1 connects', async (t) => {
  const hub = await startTestHub(t);
  const device = await hub.provision('old-firmware');
  t.same([...(await rawConnect(hub, 'MQIsdp', 3, device.id, device.token))], [0x20, 2, 0, 1], 'CONNACK 1, then close');
  t.same([...(await rawConnect(hub, 'MQTT', 5, device.id, device.token))].slice(0, 4), [0x20, 2, 0, 1], 'level 5 too');
  t.same([...(await rawConnect(hub, 'MQTT', 4, device.id, device.token, false))], [0x20, 2, 0, 0], '3.1.1 is accepted');
  const metrics = await (await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } })).text();
  t.match(metrics, /^iot_hub_mqtt_refused_connects_total 2$/m, 'both refusals counted');
  const client = await connectMqtt(t, hub, device.id, device.token, { protocolVersion: 4 });
  t.ok(client.connected);
  const refused = await hub.api('GET', `/api/devices/${device.id}`);
  t.equal((refused.body as { presence: { status: string } }).presence.status, 'online');
});
