/**
 * WebSocket presence follows the socket [FP-6]: a device's own
 * `status: offline` names no reason on the WebSocket (`last-will` is an MQTT
 * thing); how the socket ends does.
 */
import t from 'tap';
import type { DeviceView } from '@iot-hub/protocol';
import { deviceSocket, eventually, type JsonSocket } from '../../helpers/clients.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';

async function presence(hub: TestHub, id: string): Promise<DeviceView['presence']> {
  return ((await hub.api('GET', `/api/devices/${id}`)).body as DeviceView).presence;
}

/** Says `offline` (acknowledged, so the hub has handled it) and leaves the socket open. */
async function announceOffline(socket: JsonSocket): Promise<void> {
  await socket.next((f) => f.type === 'welcome');
  socket.send({ v: 1, type: 'status', mid: 'bye', status: 'offline' });
  await socket.next((f) => f.type === 'ack' && f.mid === 'bye');
}

const endings: { name: string; end: (socket: JsonSocket) => void; reason: string }[] = [
  { name: 'close 1000', end: (s) => s.ws.close(1000), reason: 'disconnected' },
  { name: 'close 1001', end: (s) => s.ws.close(1001), reason: 'disconnected' },
  { name: 'close 4000', end: (s) => s.ws.close(4000), reason: 'connection-lost' },
  { name: 'a dropped socket (no close frame)', end: (s) => s.ws.terminate(), reason: 'connection-lost' },
];

for (const e of endings) {
  t.test(`WS status offline, then ${e.name}: offline, reason ${e.reason}`, async (t) => {
    const hub = await startTestHub(t);
    const { id, token } = await hub.provision('ws-leaver');
    const socket = await deviceSocket(t, hub, id, token);
    await announceOffline(socket);
    t.match(await presence(hub, id), { status: 'online', reason: 'connected' }, 'a status message does not change presence by itself');
    e.end(socket);
    const after = await eventually(async () => {
      const p = await presence(hub, id);
      return p.status === 'offline' ? p : null;
    }, 5000, 'offline');
    t.match(after, { status: 'offline', reason: e.reason, transport: 'ws' });
  });
}
