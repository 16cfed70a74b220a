/**
 * startHaproxy with stand-in backends (plain TCP servers that answer the
 * health check and record what reaches them): MQTT is routed by client id,
 * the same id always to the same server, send-proxy-v2 carries the client
 * address and health checks carry LOCAL; deploy/haproxy.cfg is the
 * template's rendering and `haproxy -c` accepts it.
 */
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t, { type Test } from 'tap';
import { checkHaproxyConfig, deployHaproxyOptions, engineForTest, renderHaproxyConfig, startHaproxy } from '@iot-hub/engines';

const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** [MQTT-3.1] A minimal 3.1.1 CONNECT with this client id. */
function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const body = Buffer.concat([Buffer.from([0, 4]), Buffer.from('MQTT'), Buffer.from([4, 2, 0, 60, 0, id.length]), id]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

interface StandIn {
  mqttPort: number;
  httpPort: number;
  /** First bytes of each MQTT connection. */
  mqttFirstBytes: Buffer[];
  /** Each health check up to the end of its request head. */
  checkFirstBytes: Buffer[];
}

async function listen(t: Test, onConnection: (s: Socket) => void): Promise<number> {
  const server: Server = createServer((s) => {
    s.on('error', () => undefined);
    onConnection(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.close();
    // Connections HAProxy keeps open must not keep the server alive.
    server.unref();
  });
  return (server.address() as { port: number }).port;
}

async function standIn(t: Test): Promise<StandIn> {
  const node: StandIn = { mqttPort: 0, httpPort: 0, mqttFirstBytes: [], checkFirstBytes: [] };
  node.mqttPort = await listen(t, (s) => s.once('data', (d: Buffer) => node.mqttFirstBytes.push(d)));
  // The PROXY header and the request may arrive in separate segments: answer once the request's head is whole.
  node.httpPort = await listen(t, (s) => {
    let head = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      head = Buffer.concat([head, d]);
      if (!head.includes('\r\n\r\n')) return;
      s.off('data', onData);
      node.checkFirstBytes.push(head);
      s.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    };
    s.on('data', onData);
  });
  return node;
}

/** Sends a CONNECT through the balancer; resolves once it reached a stand-in (or after 3 s). */
async function sendConnect(port: number, clientId: string, nodes: StandIn[]): Promise<number> {
  const before = nodes.map((n) => n.mqttFirstBytes.length);
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write(connectPacket(clientId));
  const deadline = Date.now() + 3000;
  try {
    while (Date.now() < deadline) {
      const reached = nodes.findIndex((n, i) => n.mqttFirstBytes.length > before[i]!);
      if (reached >= 0) return reached;
      await new Promise((r) => setTimeout(r, 10));
    }
    return -1;
  } finally {
    socket.destroy();
  }
}

t.test('deploy/haproxy.cfg is the template rendered for three hubs, and haproxy -c accepts it', async (t) => {
  const file = resolve(import.meta.dirname, '../../deploy/haproxy.cfg');
  t.equal(readFileSync(file, 'utf8'), renderHaproxyConfig(deployHaproxyOptions()), 'regenerate deploy/haproxy.cfg from engines/src/haproxy-config.ts');
  const checked = await engineForTest(t, async () => ({ ...checkHaproxyConfig(file), stop: async () => undefined }));
  if (!checked) return;
  t.ok(checked.ok, checked.output);
  t.match(checked.output, 'Configuration file is valid');
  // Docker's DNS is not here: the only warnings allowed are the hub names that do not resolve.
  const warnings = checked.output.split('\n').filter((l) => l.includes('[WARNING]') && !/could not resolve address 'hub-[123]', disabling server/.test(l));
  t.same(warnings, []);
});

t.test('the client id converter straight in balance hash passes haproxy -c: why the template goes through a variable', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-haproxy-check-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.cfg');
  const sticky = renderHaproxyConfig({ ...deployHaproxyOptions(), dockerDns: false, mqttServers: [{ name: 'a', address: '127.0.0.1:1', healthPort: 2 }], httpServers: [] });
  writeFileSync(file, sticky.replace('balance hash var(sess.cid)', 'balance hash req.payload(0,0),mqtt_field_value(connect,client_identifier)'));
  const checked = await engineForTest(t, async () => ({ ...checkHaproxyConfig(file), stop: async () => undefined }));
  if (!checked) return;
  t.ok(checked.ok, 'accepted, though not sticky (the routing test below holds the variable form to stickiness)');
  writeFileSync(file, sticky.replace('hash-type consistent', 'hash-type nonsense'));
  t.notOk(checkHaproxyConfig(file).ok, 'haproxy -c does refuse a broken file');
});

t.test('MQTT by client id: the same id always reaches the same node, ids spread over both', async (t) => {
  const nodes = [await standIn(t), await standIn(t)];
  const haproxy = await engineForTest(t, () =>
    startHaproxy({ mqttBackends: nodes.map((n) => ({ port: n.mqttPort, healthPort: n.httpPort })), httpBackends: nodes.map((n) => ({ port: n.httpPort, healthPort: n.httpPort })) }),
  );
  if (!haproxy) return;
  await haproxy.waitForServers('UP');
  t.same(await haproxy.serverStates(), { mqtt: { 'node-1': 'UP', 'node-2': 'UP' }, http: { 'node-1': 'UP', 'node-2': 'UP' } });
  const placed = new Map<string, number>();
  for (let i = 0; i < 12; i++) placed.set(`device-${i}`, await sendConnect(haproxy.mqttPort, `device-${i}`, nodes));
  t.notOk([...placed.values()].includes(-1), 'every CONNECT reached a node');
  t.same(new Set(placed.values()), new Set([0, 1]), `ids spread over both nodes: ${JSON.stringify([...placed])}`);
  for (const [id, node] of placed) {
    for (let again = 0; again < 3; again++) t.equal(await sendConnect(haproxy.mqttPort, id, nodes), node, `${id} again`);
  }
  t.same(nodes[0]!.mqttFirstBytes[0]!.subarray(0, 2), Buffer.from([0x10, connectPacket('device-0').length - 2]), 'without send-proxy the CONNECT is the first byte');
});

t.test('send-proxy-v2: the node gets a v2 PROXY header with the client address; health checks get LOCAL', async (t) => {
  const node = await standIn(t);
  const haproxy = await engineForTest(t, () => startHaproxy({ mqttBackends: [{ port: node.mqttPort, healthPort: node.httpPort }], httpBackends: [], sendProxy: true, sourceAddress: '127.0.0.5' }));
  if (!haproxy) return;
  await haproxy.waitForServers('UP');
  t.equal(await sendConnect(haproxy.mqttPort, 'd', [node]), 0);
  const first = node.mqttFirstBytes.at(-1)!;
  t.same(first.subarray(0, 12), V2_SIGNATURE);
  t.equal(first[12], 0x21, 'version 2, PROXY');
  t.equal(first[13], 0x11, 'IPv4 over TCP');
  t.equal([...first.subarray(16, 20)].join('.'), '127.0.0.1', 'the client address');
  const check = node.checkFirstBytes[0]!;
  t.same(check.subarray(0, 12), V2_SIGNATURE);
  t.equal(check[12], 0x20, 'version 2, LOCAL');
  t.match(check.subarray(16 + check.readUInt16BE(14)).toString(), /^GET \/healthz HTTP\/1\.[01]\r\n/);
});

t.test('a node whose health check fails goes DOWN and gets no new connections', async (t) => {
  const nodes = [await standIn(t), await standIn(t)];
  const deadHealth = await listen(t, (s) => s.destroy());
  const haproxy = await engineForTest(t, () =>
    startHaproxy({ mqttBackends: [{ port: nodes[0]!.mqttPort, healthPort: nodes[0]!.httpPort }, { port: nodes[1]!.mqttPort, healthPort: deadHealth }], httpBackends: [] }),
  );
  if (!haproxy) return;
  const deadline = Date.now() + 10_000;
  let states = await haproxy.serverStates();
  while (Date.now() < deadline && !(states.mqtt['node-1'] === 'UP' && states.mqtt['node-2'] === 'DOWN')) {
    await new Promise((r) => setTimeout(r, 50));
    states = await haproxy.serverStates();
  }
  t.same(states.mqtt, { 'node-1': 'UP', 'node-2': 'DOWN' });
  for (let i = 0; i < 6; i++) t.equal(await sendConnect(haproxy.mqttPort, `x-${i}`, nodes), 0, `x-${i} on the healthy node`);
});
