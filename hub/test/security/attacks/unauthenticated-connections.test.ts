/**
 * Issue 18 item 5: connections that never authenticate (MQTT sockets that
 * never send CONNECT, device WebSockets that never send `auth`) must not
 * starve devices. They are bounded apart from the device budget
 * (--max-connections counts authenticated devices only): each has
 * --auth-timeout-ms, one address holds at most --max-unauthenticated-per-ip
 * (more: CONNACK 3 / HTTP 429) and all together --max-unauthenticated (past
 * it the oldest is closed).
 */
import t from 'tap';
import type { Socket } from 'node:net';
import { connectMqtt, deviceSocket, eventually, jsonSocket, type JsonSocket } from '../../helpers/clients.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';
import { openRaw, exchange, statusOf, upgradeRequest } from '../../helpers/raw-http.js';

async function metric(hub: TestHub, name: string): Promise<number> {
  const text = await (await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

function closed(socket: Socket): Promise<void> {
  return socket.destroyed ? Promise.resolve() : new Promise((r) => socket.once('close', () => r()));
}

/** A minimal MQTT 3.1.1 CONNECT; the hub answers a refused socket with CONNACK 3. */
function connectPacket(id: string): Buffer {
  const str = (s: string) => [Buffer.from([0, Buffer.byteLength(s)]), Buffer.from(s)];
  const body = Buffer.concat([...str('MQTT'), Buffer.from([4, 0x02, 0, 60]), ...str(id)]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

t.test('idle unauthenticated sockets from several addresses do not keep devices out, and are closed at the deadline', async (t) => {
  const hub = await startTestHub(t, { maxConnections: 2, maxUnauthenticated: 8, maxUnauthenticatedPerIp: 3, authTimeoutMs: 1500 });
  const [mqttDevice, wsDevice] = [await hub.provision('real-mqtt'), await hub.provision('real-ws')];
  const port = hub.hub.mqttPort;

  // Three addresses fill their share of idle MQTT sockets: 9 > 8, so the first one is already closed.
  const idleMqtt: Socket[] = [];
  for (const ip of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) for (let i = 0; i < 3; i++) idleMqtt.push(await openRaw(t, port, ip));
  await eventually(() => idleMqtt[0]?.destroyed, 3000, 'the oldest idle socket evicted');
  // A fourth from an address that holds its three: CONNACK 3 once its CONNECT arrives.
  const extra = await openRaw(t, port, '127.0.0.4');
  const answer: Buffer[] = [];
  extra.on('data', (c: Buffer) => answer.push(c));
  extra.write(connectPacket('nobody'));
  await closed(extra);
  t.same([...Buffer.concat(answer)], [0x20, 2, 0, 3], 'past the per-address cap: CONNACK 3');

  // Device WebSockets without credentials from a fourth address: three wait for `auth`, the fourth is 429.
  const idleWs: JsonSocket[] = [];
  for (let i = 0; i < 3; i++) idleWs.push(await jsonSocket(t, `${hub.wsUrl}/ws/device`, { localAddress: '127.0.0.5' }));
  t.equal(statusOf(await exchange(t, hub.hub.httpPort, upgradeRequest('/ws/device'), 3000)) ?? 'none', 101, 'another address may still upgrade');
  const refused = await jsonSocket(t, `${hub.wsUrl}/ws/device`, { localAddress: '127.0.0.5' }).then(
    () => 'open',
    (err: { statusCode?: number }) => err.statusCode,
  );
  t.equal(refused, 429, 'past the per-address cap: 429');

  // Real devices connect at once: the idle sockets are not in the device budget.
  const client = await connectMqtt(t, hub, mqttDevice.id, mqttDevice.token);
  t.ok(client.connected, 'MQTT device connected');
  const ws = await deviceSocket(t, hub, wsDevice.id, wsDevice.token);
  t.match(await ws.next((f) => f.type === 'welcome'), { type: 'welcome', id: wsDevice.id }, 'WebSocket device welcomed');

  // At the deadline every idle one is closed: WebSockets with auth_timeout and 4408.
  await Promise.all(idleMqtt.map(closed));
  t.pass('every idle MQTT socket closed');
  for (const s of idleWs) {
    t.match(await s.next((f) => f.type === 'error'), { error: 'auth_timeout', code: 408 });
    t.equal((await s.closed).code, 4408);
  }
  t.equal(await metric(hub, 'iot_hub_unauthenticated_connections'), 0, 'none left waiting');
  t.equal(await metric(hub, 'iot_hub_connections_refused_total{transport="mqtt",reason="unauthenticated_per_ip"}'), 1);
  t.equal(await metric(hub, 'iot_hub_connections_refused_total{transport="ws",reason="unauthenticated_per_ip"}'), 1);
  // Each newcomer past 8 closed the oldest idle MQTT socket; the rest ran out of time.
  const evicted = await metric(hub, 'iot_hub_unauthenticated_closed_total{transport="mqtt",reason="evicted"}');
  const timedOut = await metric(hub, 'iot_hub_unauthenticated_closed_total{transport="mqtt",reason="timeout"}');
  t.ok(evicted >= 1, `evictions counted (${evicted})`);
  t.equal(evicted + timedOut, 9, 'every idle MQTT socket counted once');
  t.equal(await metric(hub, 'iot_hub_unauthenticated_closed_total{transport="ws",reason="timeout"}'), 3, 'WebSocket timeouts counted');
  t.equal(client.connected, true, 'the devices stay connected');
});

t.test('the device budget counts authenticated devices, and is checked again when a WebSocket authenticates by frame', async (t) => {
  const hub = await startTestHub(t, { maxConnections: 1 });
  const [a, b] = [await hub.provision('first'), await hub.provision('second')];
  const byFrame = await jsonSocket(t, `${hub.wsUrl}/ws/device`);
  await connectMqtt(t, hub, a.id, a.token);
  byFrame.send({ v: 1, type: 'auth', id: b.id, token: b.token, mid: 'a1' });
  t.match(await byFrame.next((f) => f.type === 'error'), { error: 'rate_limited', ref: 'a1' });
  t.equal((await byFrame.closed).code, 1013, 'try again later');
  t.equal(await metric(hub, 'iot_hub_connections_refused_total{transport="ws",reason="max_connections"}'), 1);
});
