/**
 * After a hub restart every device is `unknown` until heard from [FP-6];
 * one that does not come back within its own heartbeat deadline
 * (HEARTBEAT_GRACE_FACTOR × heartbeatSec, counted from the restart) turns
 * offline with reason `silent-since-restart` instead of staying unknown for
 * ever, while one that comes back in time is simply online.
 */
import t from 'tap';
import { HEARTBEAT_GRACE_FACTOR, MIN_HEARTBEAT_SEC, type DeviceView, type PresenceInfo } from '@iot-hub/protocol';
import { connectMqtt } from '../helpers/clients.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

async function presence(hub: TestHub, id: string): Promise<PresenceInfo> {
  return ((await hub.api('GET', `/api/devices/${id}`)).body as DeviceView).presence;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

t.test('a device not back within its heartbeat deadline after a restart is offline, silent-since-restart', async (t) => {
  const first = await startTestHub(t);
  const gone = await first.provision('gone-for-good', 'sensor');
  const back = await first.provision('comes-back', 'sensor');
  for (const { id, token } of [gone, back]) {
    const device = await connectMqtt(t, first, id, token);
    await device.publishAsync(`devices/${id}/hello`, JSON.stringify({ kind: 'sensor', heartbeatSec: MIN_HEARTBEAT_SEC }), { qos: 1 });
    await device.endAsync();
  }

  const second = await first.restart();
  const restartedAt = Date.now();
  t.match(await presence(second, gone.id), { status: 'unknown', reason: 'hub-restart' });
  const returning = await connectMqtt(t, second, back.id, back.token);
  // It keeps its heartbeat, so the only thing that could end it is this rule.
  const pings = setInterval(() => void returning.publishAsync(`devices/${back.id}/ping`, '{}', { qos: 0 }).catch(() => undefined), 1_000);
  t.teardown(() => clearInterval(pings));

  const deadlineMs = HEARTBEAT_GRACE_FACTOR * MIN_HEARTBEAT_SEC * 1000;
  await until('the silent device to turn offline', async () => (await presence(second, gone.id)).status === 'offline', deadlineMs + 10_000);
  const after = await presence(second, gone.id);
  t.match(after, { status: 'offline', reason: 'silent-since-restart', transport: 'mqtt' });
  t.ok(after.since - restartedAt >= deadlineMs - 1_000, `not before its deadline (${after.since - restartedAt} ms after the restart)`);
  t.match(await presence(second, back.id), { status: 'online', reason: 'connected' }, 'a device that came back is online');
  clearInterval(pings);
  await returning.endAsync();
});
