/**
 * A device WebSocket is bound to the id it authenticated as [FP-3.2]: no
 * later frame can speak for another device, whatever ids it carries.
 */
import t from 'tap';
import type { DeviceView } from '@iot-hub/protocol';
import { deviceSocket, jsonSocket, type JsonSocket } from '../helpers/clients.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

async function view(hub: TestHub, id: string): Promise<DeviceView> {
  return (await hub.api('GET', `/api/devices/${id}`)).body as DeviceView;
}

const ways: { name: string; open: (t: Parameters<typeof deviceSocket>[0], hub: TestHub, id: string, token: string) => Promise<JsonSocket> }[] = [
  { name: 'in the upgrade', open: (t, hub, id, token) => deviceSocket(t, hub, id, token) },
  {
    name: 'with an auth frame',
    open: async (t, hub, id, token) => {
      const ws = await jsonSocket(t, `${hub.wsUrl}/ws/device`);
      ws.send({ type: 'auth', id, token });
      return ws;
    },
  },
];

for (const way of ways) {
  t.test(`a WS device authenticated ${way.name} cannot send for another device`, async (t) => {
    const hub = await startTestHub(t);
    const a = await hub.provision('bound-a');
    const b = await hub.provision('bound-b');
    const socket = await way.open(t, hub, a.id, a.token);
    await socket.next((f) => f.type === 'welcome' && f.id === a.id);

    // B's valid credentials on A's socket do not switch it over.
    socket.send({ type: 'auth', mid: 'switch', id: b.id, token: b.token });
    t.match(await socket.next((f) => f.ref === 'switch'), { type: 'error', error: 'invalid_message', message: /already authenticated/ });
    // Ids inside a message are not who sends it: the socket is.
    socket.send({ type: 'telemetry', mid: 'spoof', id: b.id, deviceId: b.id, metrics: { spoofed: 1 } });
    await socket.next((f) => f.type === 'ack' && f.mid === 'spoof');

    t.equal((await view(hub, a.id)).latest.spoofed?.value, 1, 'stored as A');
    const bView = await view(hub, b.id);
    t.same(bView.latest, {}, 'nothing stored for B');
    t.match(bView.presence, { status: 'offline', reason: 'never-connected' }, 'B never came online');
    t.equal(socket.frames.filter((f) => f.type === 'welcome').length, 1, 'one welcome, for A');
  });
}
