/**
 * PUBACKs may come back in another order than the publishes [FP-3.1]: the
 * broker handles the packets that arrive together at once, and each is
 * acknowledged when it is durable, so a `status` overtakes a `telemetry`
 * that waits for its disk write. A client library that matches PUBACKs by
 * packet id (mqtt.js does) takes that in its stride.
 */
import t from 'tap';
import type { Packet } from 'mqtt';
import type { DeviceView } from '@iot-hub/protocol';
import { connectMqtt } from '../../helpers/clients.js';
import { startTestHub } from '../../helpers/hub.js';

t.test('PUBACKs out of publish order are matched by packet id', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('acks-1');
  const client = await connectMqtt(t, hub, id, token);
  const sent: number[] = [];
  const acked: number[] = [];
  client.on('packetsend', (p: Packet) => {
    if (p.cmd === 'publish' && p.messageId !== undefined) sent.push(p.messageId);
  });
  client.on('packetreceive', (p: Packet) => {
    if (p.cmd === 'puback' && p.messageId !== undefined) acked.push(p.messageId);
  });
  // Both publishes in one TCP write, so the broker reads them in one batch.
  const stream = (client as unknown as { stream: { cork(): void; uncork(): void } }).stream;
  stream.cork();
  const telemetry = client.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ seq: 0, metrics: { x: 1 } }), { qos: 1 });
  const status = client.publishAsync(`devices/${id}/status`, '{"status":"online"}', { qos: 1, retain: true });
  stream.uncork();
  await Promise.all([telemetry, status]);

  t.equal(sent.length, 2);
  t.same(acked, [sent[1], sent[0]], 'the status publish (no disk write) was acknowledged first');
  t.equal(((await hub.api('GET', `/api/devices/${id}`)).body as DeviceView).latest.x?.value, 1, 'the telemetry was stored');
});
