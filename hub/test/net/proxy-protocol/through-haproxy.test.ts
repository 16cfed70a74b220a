/**
 * Two real hubs behind a real HAProxy (engines/, the routing of
 * deploy/haproxy.cfg) with send-proxy-v2: a device id always reaches the
 * same hub, the hubs see the client's address (127.0.0.7) and not the
 * balancer's (127.0.0.5), an MQTT device's telemetry is stored, HTTP
 * requests are served, and the health checks arrive as LOCAL headers.
 * The hubs trust only 127.0.0.5, so the test's own API calls (from
 * 127.0.0.1) go to them directly without a header.
 */
import t, { type Test } from 'tap';
import { connect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import type { DeviceView } from '@iot-hub/protocol';
import { engineForTest, startHaproxy } from '@iot-hub/engines';
import { connectMqtt, eventually } from '../../helpers/clients.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';

const BALANCER = '127.0.0.5';
const CLIENT = '127.0.0.7';

function logCapture(): { stream: { write(line: string): void }; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  return {
    stream: { write: (line: string) => void chunks.push(line) },
    lines: () => chunks.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** The CONNACK return code a CONNECT through the balancer gets, from CLIENT. */
async function connackCode(t: Test, port: number, id: string, token: string): Promise<number> {
  const socket: Socket = connect({ port, host: '127.0.0.1', localAddress: CLIENT });
  socket.on('error', () => undefined);
  t.teardown(() => socket.destroy());
  socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: id, username: id, password: Buffer.from(token), clean: true, keepalive: 30 }));
  const bytes = await new Promise<Buffer>((resolve, reject) => {
    let got = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 4) resolve(got);
    });
    socket.once('close', () => reject(new Error(`closed after ${got.length} bytes`)));
  });
  socket.destroy();
  t.same(bytes.subarray(0, 3), Buffer.from([0x20, 0x02, 0x00]), 'a CONNACK');
  return bytes[3]!;
}

async function metric(hub: TestHub, series: string): Promise<number> {
  const text = await (await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

t.test('MQTT and HTTP through HAProxy with send-proxy-v2 to two hubs', async (t) => {
  const logs = [logCapture(), logCapture()];
  const hubs = [
    await startTestHub(t, { proxyProtocolFrom: [BALANCER], logLevel: 'info' }, undefined, { logDestination: logs[0]!.stream }),
    await startTestHub(t, { proxyProtocolFrom: [BALANCER], logLevel: 'info' }, undefined, { logDestination: logs[1]!.stream }),
  ];
  const haproxy = await engineForTest(t, () =>
    startHaproxy({
      mqttBackends: hubs.map((h) => ({ port: h.hub.mqttPort, healthPort: h.hub.httpPort })),
      httpBackends: hubs.map((h) => ({ port: h.hub.httpPort, healthPort: h.hub.httpPort })),
      sendProxy: true,
      sourceAddress: BALANCER,
    }),
  );
  if (!haproxy) return;
  await haproxy.waitForServers('UP', 20_000);
  for (const hub of hubs) t.ok((await metric(hub, 'iot_hub_proxy_protocol_headers_total{command="local"}')) > 0, 'health checks came as LOCAL headers');

  // Devices exist on hub 0 only: a CONNECT that reaches hub 1 gets CONNACK 4, which tells where it went.
  const ids = Array.from({ length: 8 }, (_, i) => `sticky-${i}`);
  const tokens = new Map<string, string>();
  for (const id of ids) tokens.set(id, (await hubs[0]!.provision(id)).token);
  const placed = new Map<string, number>();
  for (const id of ids) placed.set(id, await connackCode(t, haproxy.mqttPort, id, tokens.get(id)!));
  t.same(new Set(placed.values()), new Set([0, 4]), `ids spread over both hubs: ${JSON.stringify([...placed])}`);
  for (const [id, code] of placed) {
    for (let again = 0; again < 2; again++) t.equal(await connackCode(t, haproxy.mqttPort, id, tokens.get(id)!), code, `${id} reaches the same hub again`);
  }

  const refusals = logs[1]!.lines().filter((l) => l.msg === 'MQTT connection refused');
  t.ok(refusals.length > 0);
  t.same(new Set(refusals.map((l) => l.remote)), new Set([CLIENT]), 'hub 1 saw the client address, not the balancer\'s');

  // A real device on an id that maps to hub 0: its telemetry is stored there.
  const id = [...placed].find(([, code]) => code === 0)![0];
  const device = await connectMqtt(t, { ...hubs[0]!, mqttUrl: `mqtt://127.0.0.1:${haproxy.mqttPort}` }, id, tokens.get(id)!);
  await device.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ metrics: { temperature: 21.5 } }), { qos: 1 });
  const view = (await hubs[0]!.api('GET', `/api/devices/${id}`)).body as DeviceView;
  t.equal(view.latest.temperature?.value, 21.5);

  // HTTP: served through the balancer, and the hub that served a failed login logged the client's address.
  const health = await fetch(`http://127.0.0.1:${haproxy.httpPort}/healthz`);
  t.equal(health.status, 200);
  const body = JSON.stringify({ username: 'nobody', password: 'wrong-password' });
  const login = await httpFrom(haproxy.httpPort, `POST /api/auth/login HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  t.match(login, /^HTTP\/1\.1 401 /);
  const failed = await eventually(() => logs.flatMap((l) => l.lines()).find((l) => l.msg === 'login failed'), 3000, 'the login failure log line');
  t.equal(failed.remote, CLIENT);
});

/** A raw HTTP request from CLIENT; resolves with the whole answer. */
function httpFrom(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: CLIENT }, () => socket.write(request));
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}
