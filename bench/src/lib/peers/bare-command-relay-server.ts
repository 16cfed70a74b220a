/**
 * Child entry of the bare command relay peer (the commands benchmark): the
 * least a server can do for one command round trip, with none of the hub's
 * guarantees. aedes behind node:net (TCP_NODELAY), node:http and ws:
 *
 * - `POST /api/devices/{id}/commands` answers 202 with a command id and
 *   publishes the command (QoS 1) straight to that device's client on
 *   `devices/{id}/commands`, as the hub does [FP-4.2];
 * - a result published on `devices/{id}/results` goes out as one `command`
 *   event to every socket on `/ws/dashboard` that subscribed;
 * - everything else a device publishes (hello, telemetry, status) is
 *   acknowledged by aedes and dropped.
 *
 * No authentication, no storage, no checks, no command tracking: nothing is
 * written to disk and nothing survives a restart. What is left is the
 * network and parsing work of the round trip on this machine, so its
 * figures are a floor under the hub's, measured beside it in the same run.
 *
 * Listens on free ports of 127.0.0.1 and prints "MQTT_PORT HTTP_PORT" on
 * stdout, alone on one line. Ends on SIGTERM or SIGINT.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { Aedes, type Client } from 'aedes';
import { WebSocketServer, type WebSocket } from 'ws';
import { DASHBOARD_SUBPROTOCOL } from '@iot-hub/protocol';

const COMMAND_PATH = /^\/api\/devices\/([^/]+)\/commands$/;
const RESULT_TOPIC = /^devices\/([^/]+)\/results$/;

const broker = await Aedes.createBroker();
const mqtt = createNetServer({ noDelay: true }, (socket) => broker.handle(socket));

let nextId = 0;
const dashboards = new Set<WebSocket>();

// Results are taken before aedes' emitter, which hands on a bounded number of messages at a
// time: under telemetry load a result would otherwise wait behind thousands of readings.
broker.authorizePublish = (client, packet, done) => {
  const match = client ? RESULT_TOPIC.exec(packet.topic) : null;
  if (match) relayResult(match[1] as string, packet.payload as Buffer);
  done(null);
};

function relayResult(deviceId: string, payload: Buffer): void {
  let result: { id?: unknown; status?: unknown; error?: unknown };
  try {
    result = JSON.parse(payload.toString()) as typeof result;
  } catch {
    return;
  }
  if (typeof result.id !== 'string' || typeof result.status !== 'string') return;
  const frame = JSON.stringify({
    event: 'command',
    command: { id: result.id, deviceId, state: result.status, updatedAt: Date.now(), ...(typeof result.error === 'string' ? { error: result.error } : {}) },
  });
  for (const ws of dashboards) ws.send(frame);
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function onRequest(req: IncomingMessage, res: ServerResponse): void {
  const match = req.method === 'POST' ? COMMAND_PATH.exec(req.url ?? '') : null;
  if (!match) return reply(res, 404, { error: 'not_found', message: 'only POST /api/devices/{id}/commands' });
  const deviceId = decodeURIComponent(match[1] as string);
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let request: { name?: unknown; params?: unknown };
    try {
      request = JSON.parse(Buffer.concat(chunks).toString()) as typeof request;
    } catch {
      return reply(res, 400, { error: 'bad_request', message: 'body is not JSON' });
    }
    const client = (broker as unknown as { clients: Record<string, Client | undefined> }).clients[deviceId];
    if (!client) return reply(res, 409, { error: 'device_offline', message: `${deviceId} is not connected` });
    const id = `cmd-${(nextId++).toString(36)}`;
    const message = { v: 1, type: 'command', id, name: request.name, params: request.params ?? {} };
    client.publish({ cmd: 'publish', topic: `devices/${deviceId}/commands`, payload: Buffer.from(JSON.stringify(message)), qos: 1, retain: false, dup: false }, () => {});
    reply(res, 202, { id, deviceId, name: request.name, state: 'sent' });
  });
}

const http = createHttpServer(onRequest);
http.on('connection', (socket) => socket.setNoDelay(true));
const wss = new WebSocketServer({
  server: http,
  path: '/ws/dashboard',
  handleProtocols: (protocols) => (protocols.has(DASHBOARD_SUBPROTOCOL) ? DASHBOARD_SUBPROTOCOL : false),
});
wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    let frame: { id?: unknown; op?: unknown };
    try {
      frame = JSON.parse(data.toString()) as typeof frame;
    } catch {
      return;
    }
    // Every subscription is taken as "all command events".
    if (frame.op === 'subscribe') {
      dashboards.add(ws);
      ws.send(JSON.stringify({ id: frame.id, status: 'ok' }));
    }
  });
  ws.on('close', () => dashboards.delete(ws));
});

const listen = (server: { listen(port: number, host: string, cb: () => void): unknown; address(): unknown }): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
const [mqttPort, httpPort] = await Promise.all([listen(mqtt), listen(http)]);
process.stdout.write(`${mqttPort} ${httpPort}\n`);

// The parent measures this process and then ends it: no graceful close, which could wait on clients.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0));
