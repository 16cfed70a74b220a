/**
 * New device connections are admitted before any work is spent on them: a
 * cap on open connections (MQTT + device WebSocket together) and a rate of
 * new connections per IP. A refused MQTT connection gets CONNACK 3 ("server
 * unavailable") without its CONNECT being processed; a refused upgrade gets
 * HTTP 503 (cap) or 429 (rate). Connections already open carry on.
 */
import t from 'tap';
import { connect as tcpConnect } from 'node:net';
import type { DeviceView } from '@iot-hub/protocol';
import { connectMqtt, deviceSocket, eventually, mqttClosed, upgradeStatus } from '../helpers/clients.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

async function connack(t: Parameters<typeof connectMqtt>[0], hub: TestHub, id: string, token: string): Promise<number | 'connected'> {
  try {
    await connectMqtt(t, hub, id, token);
    return 'connected';
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

async function metric(hub: TestHub, name: string): Promise<number> {
  const text = await (await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

/** The bytes the hub answers a raw MQTT CONNECT with, until it closes the socket. */
async function rawConnect(hub: TestHub, clientId: string, username: string, password: string): Promise<Buffer> {
  const str = (s: string) => [Buffer.from([0, Buffer.byteLength(s)]), Buffer.from(s)];
  const body = Buffer.concat([...str('MQTT'), Buffer.from([4, 0xc2, 0, 60]), ...str(clientId), ...str(username), ...str(password)]);
  const socket = tcpConnect(hub.hub.mqttPort, '127.0.0.1');
  socket.on('error', () => undefined);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((r) => socket.once('connect', r));
  socket.write(Buffer.concat([Buffer.from([0x10, body.length]), body]));
  await new Promise((r) => socket.once('close', r));
  return Buffer.concat(chunks);
}

t.test('past --max-connections, MQTT gets CONNACK 3 and the device WebSocket 503; open ones carry on', async (t) => {
  const hub = await startTestHub(t, { maxConnections: 3 });
  const devices = await Promise.all(['cap-0', 'cap-1', 'cap-2', 'cap-3'].map((id) => hub.provision(id)));
  const [d0, d1, d2, d3] = devices as [(typeof devices)[0], (typeof devices)[0], (typeof devices)[0], (typeof devices)[0]];
  const m0 = await connectMqtt(t, hub, d0.id, d0.token);
  await connectMqtt(t, hub, d1.id, d1.token);
  const w2 = await deviceSocket(t, hub, d2.id, d2.token);
  await w2.next((f) => f.type === 'welcome');

  t.equal(await connack(t, hub, d3.id, d3.token), 3, 'MQTT: server unavailable');
  t.equal(await upgradeStatus(deviceSocket(t, hub, d3.id, d3.token)), 503, 'WebSocket: 503');
  // Refused before authentication: even wrong credentials get CONNACK 3, not 4.
  t.same([...(await rawConnect(hub, 'x', 'x', 'wrong'))], [0x20, 2, 0, 3], 'a bare CONNACK 3, then close');
  t.equal(((await hub.api('GET', `/api/devices/${d3.id}`)).body as DeviceView).presence.status, 'offline');

  await m0.publishAsync(`devices/${d0.id}/telemetry`, '{"metrics":{"x":1}}', { qos: 1 });
  w2.send({ type: 'telemetry', mid: 1, metrics: { x: 2 } });
  await w2.next((f) => f.type === 'ack');
  t.pass('the open connections still work');

  const closed = mqttClosed(m0);
  await m0.endAsync();
  await closed;
  await eventually(async () => (await connack(t, hub, d3.id, d3.token)) === 'connected', 3000, 'room again after a disconnect');
  t.equal(await metric(hub, 'iot_hub_connections_refused_total{transport="mqtt",reason="max_connections"}'), 2);
  t.equal(await metric(hub, 'iot_hub_connections_refused_total{transport="ws",reason="max_connections"}'), 1);
});

t.test('past --ip-connect-rate, new connections from that IP are refused: MQTT CONNACK 3, WebSocket 429', async (t) => {
  // One new connection a second, three at once: the fourth right away is over.
  const hub = await startTestHub(t, { ipConnectRate: 1, ipConnectBurst: 3 });
  const [a, b, c, d] = await Promise.all(['ip-a', 'ip-b', 'ip-c', 'ip-d'].map((id) => hub.provision(id)));
  if (!a || !b || !c || !d) throw new Error('provisioning failed');
  const first = await connectMqtt(t, hub, a.id, a.token);
  await connectMqtt(t, hub, b.id, b.token);
  const ws = await deviceSocket(t, hub, c.id, c.token);
  await ws.next((f) => f.type === 'welcome');
  t.equal(await connack(t, hub, d.id, d.token), 3, 'MQTT refused');
  t.equal(await upgradeStatus(deviceSocket(t, hub, d.id, d.token)), 429, 'WebSocket refused');
  t.equal(await metric(hub, 'iot_hub_connections_refused_total{transport="mqtt",reason="ip_rate"}'), 1);
  t.equal(await metric(hub, 'iot_hub_connections_refused_total{transport="ws",reason="ip_rate"}'), 1);
  t.equal(first.connected, true, 'connections already open are not touched');
  await new Promise((r) => setTimeout(r, 1100));
  t.equal(await connack(t, hub, d.id, d.token), 'connected', 'a second later there is a token again');
});

t.test('a refused socket that never sends CONNECT is closed', async (t) => {
  const hub = await startTestHub(t, { maxConnections: 1 });
  const a = await hub.provision('only');
  await connectMqtt(t, hub, a.id, a.token);
  const socket = tcpConnect(hub.hub.mqttPort, '127.0.0.1');
  socket.on('error', () => undefined);
  t.teardown(() => socket.destroy());
  await new Promise((r) => socket.once('connect', r));
  const started = Date.now();
  await new Promise((r) => socket.once('close', r));
  t.ok(Date.now() - started < 10_000, 'closed without waiting for the client');
});
