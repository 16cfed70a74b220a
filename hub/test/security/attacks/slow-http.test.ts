/**
 * Issue 18 item 6, slowloris: clients that open HTTP connections and send
 * their headers slowly, or never, must not take every descriptor. Open HTTP
 * connections are capped per address (--max-http-connections-per-ip: 429)
 * and in total (--max-http-connections: 503), refusals are counted, and a
 * request whose headers do not arrive within --http-headers-timeout-ms is
 * closed. Meanwhile /healthz answers other addresses and devices connect.
 */
import t from 'tap';
import type { Socket } from 'node:net';
import { connectMqtt, deviceSocket } from '../../helpers/clients.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';
import { openRaw, statusOf } from '../../helpers/raw-http.js';

async function metric(hub: TestHub, name: string): Promise<number> {
  const text = await (await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

/** A connection that starts a request and never finishes its headers; `answer` collects what the hub says. */
async function slowRequest(t: Parameters<typeof openRaw>[0], hub: TestHub, ip: string): Promise<{ socket: Socket; answer: () => string; closed: Promise<void> }> {
  const socket = await openRaw(t, hub.hub.httpPort, ip);
  let answer = '';
  socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
  return { socket, answer: () => answer, closed };
}

t.test('slow header-less connections past the caps are refused; /healthz and devices carry on; the slow ones time out', async (t) => {
  const hub = await startTestHub(t, { maxHttpConnectionsPerIp: 5, maxHttpConnections: 16, httpHeadersTimeoutMs: 2000 });
  const [mqttDevice, wsDevice] = [await hub.provision('mqtt-dev'), await hub.provision('ws-dev')];

  const slow = [];
  for (const ip of ['127.0.0.2', '127.0.0.3']) for (let i = 0; i < 5; i++) slow.push(await slowRequest(t, hub, ip));
  const overPerIp = await slowRequest(t, hub, '127.0.0.2');
  await Promise.race([overPerIp.closed, new Promise((r) => setTimeout(r, 5000))]);
  t.equal(statusOf(overPerIp.answer()), 429, 'a sixth from one address: 429');
  t.match(overPerIp.answer(), /"error":"rate_limited"/);

  t.equal((await fetch(`${hub.httpUrl}/healthz`)).status, 200, '/healthz from another address');
  const client = await connectMqtt(t, hub, mqttDevice.id, mqttDevice.token);
  t.ok(client.connected, 'an MQTT device connects');
  const ws = await deviceSocket(t, hub, wsDevice.id, wsDevice.token);
  t.match(await ws.next((f) => f.type === 'welcome'), { type: 'welcome' }, 'a WebSocket device connects (and no longer counts as HTTP)');

  // More addresses fill the total (the test's own keep-alive connections hold a few places too).
  let overTotal: Awaited<ReturnType<typeof slowRequest>> | null = null;
  for (let i = 0; i < 16 && overTotal === null; i++) {
    const next = await slowRequest(t, hub, `127.0.1.${i + 1}`);
    const refused = await Promise.race([next.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 100))]);
    if (refused) overTotal = next;
    else slow.push(next);
  }
  t.equal(statusOf(overTotal?.answer() ?? ''), 503, 'past the total cap: 503');

  await Promise.race([Promise.all(slow.map((s) => s.closed)), new Promise((r) => setTimeout(r, 10_000))]);
  t.ok(slow.every((s) => statusOf(s.answer()) === 408), 'every slow request timed out with 408');
  t.equal((await fetch(`${hub.httpUrl}/healthz`)).status, 200, '/healthz still answers once the slow ones are gone');
  t.equal(await metric(hub, 'iot_hub_http_connections_refused_total{reason="per_ip"}'), 1);
  t.equal(await metric(hub, 'iot_hub_http_connections_refused_total{reason="total"}'), 1);
  t.equal(await metric(hub, 'iot_hub_http_request_timeouts_total'), slow.length, 'every timeout counted');
  ws.send({ type: 'ping' });
  t.match(await ws.next((f) => f.type === 'pong'), { type: 'pong' }, 'the device socket outlived the HTTP timeouts');
});
