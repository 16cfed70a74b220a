/**
 * A device never receives its own messages over MQTT [FP-3.1, FP-6]: not the
 * echo of what it publishes, `status` included, and not the retained
 * `status` when it (re)subscribes, so a stale `offline` can never arrive
 * after the device said `online`.
 */
import t from 'tap';
import { DEVICE_CHANNELS } from '@iot-hub/protocol';
import { collectMessages, connectMqtt, eventually } from '../../helpers/clients.js';
import { startTestHub } from '../../helpers/hub.js';

const deviceChannel = (topic: string): boolean => DEVICE_CHANNELS.some((channel) => topic.endsWith(`/${channel}`));

/** A round trip through the hub after everything before it: the forbidden publish's error comes back on `errors`. */
async function settled(client: Awaited<ReturnType<typeof connectMqtt>>, inbox: { topic: string; payload: Record<string, unknown> }[], id: string): Promise<void> {
  const before = inbox.filter((m) => m.payload.error === 'forbidden_topic').length;
  await client.publishAsync(`devices/${id}/firmware`, '{}', { qos: 1 });
  await eventually(() => inbox.filter((m) => m.payload.error === 'forbidden_topic').length > before, 3000, 'the forbidden_topic error');
  // Deliveries go out on the next turns; give stragglers time to arrive.
  await new Promise((r) => setTimeout(r, 200));
}

t.test('what a device publishes on its own channels, status included, never comes back to it', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('echo-1');
  const client = await connectMqtt(t, hub, id, token);
  const inbox = collectMessages(client);
  await client.subscribeAsync(`devices/${id}/#`, { qos: 1 });
  await client.publishAsync(`devices/${id}/status`, '{"status":"online"}', { qos: 1, retain: true });
  await client.publishAsync(`devices/${id}/hello`, '{"kind":"sensor"}', { qos: 1 });
  await client.publishAsync(`devices/${id}/telemetry`, '{"metrics":{"x":1}}', { qos: 1 });
  await client.publishAsync(`devices/${id}/state`, '{"state":{"on":true}}', { qos: 1 });
  await client.publishAsync(`devices/${id}/ping`, '{}', { qos: 0 });
  await client.publishAsync(`devices/${id}/status`, '{"status":"offline"}', { qos: 1, retain: true });
  await settled(client, inbox, id);
  t.same(inbox.filter((m) => deviceChannel(m.topic)), [], 'no device → hub message echoed');
  t.ok(inbox.some((m) => m.topic === `devices/${id}/desired`), 'what the hub sends still arrives');
});

t.test('an explicit subscription to the own status topic is granted and delivers nothing', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('echo-2');
  const client = await connectMqtt(t, hub, id, token);
  const inbox = collectMessages(client);
  const granted = await client.subscribeAsync([`devices/${id}/status`, `devices/${id}/errors`], { qos: 1 });
  t.same(granted.map((g) => g.qos), [1, 1], 'granted');
  await client.publishAsync(`devices/${id}/status`, '{"status":"online"}', { qos: 1, retain: true });
  await settled(client, inbox, id);
  t.same(inbox.filter((m) => m.topic === `devices/${id}/status`), []);
});

t.test('after a reconnect the retained status (the will) does not reach the device on resubscribe', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('echo-3');
  const will = { topic: `devices/${id}/status`, payload: Buffer.from('{"status":"offline"}'), qos: 1 as const, retain: true };
  const first = await connectMqtt(t, hub, id, token, { will });
  await first.publishAsync(`devices/${id}/status`, '{"status":"online"}', { qos: 1, retain: true });
  // The socket dies: the broker publishes the will, retained.
  (first as unknown as { stream: { destroy(): void } }).stream.destroy();
  await eventually(async () => ((await hub.api('GET', `/api/devices/${id}`)).body as { presence: { reason: string } }).presence.reason === 'last-will', 3000, 'the will fired');

  const again = await connectMqtt(t, hub, id, token, { will });
  const inbox = collectMessages(again);
  // Subscribe and announce `online` at once, as firmware does right after CONNACK.
  await Promise.all([again.subscribeAsync(`devices/${id}/#`, { qos: 1 }), again.publishAsync(`devices/${id}/status`, '{"status":"online"}', { qos: 1, retain: true })]);
  await settled(again, inbox, id);
  t.same(inbox.filter((m) => m.topic === `devices/${id}/status`), [], 'no stale offline, no echoed online');

  // And a later resubscribe (the retained status is now online) brings nothing either.
  await again.unsubscribeAsync(`devices/${id}/#`);
  await again.subscribeAsync(`devices/${id}/#`, { qos: 1 });
  await settled(again, inbox, id);
  t.same(inbox.filter((m) => m.topic === `devices/${id}/status`), []);
});
