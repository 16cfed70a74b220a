/** /metrics: Prometheus text, behind the admin token, counting what the hub did. */
import t from 'tap';
import { collectMessages, connectMqtt, eventually } from '../helpers/clients.js';
import { startTestHub } from '../helpers/hub.js';

/** The value of one sample line, e.g. metric('iot_hub_devices{presence="online"}'). */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

t.test('/metrics needs the admin token', async (t) => {
  const hub = await startTestHub(t);
  t.equal((await fetch(`${hub.httpUrl}/metrics`)).status, 401);
  t.equal((await fetch(`${hub.httpUrl}/metrics?x=1`)).status, 401);
});

t.test('/metrics counts devices, connections, stored points and errors by code', async (t) => {
  const hub = await startTestHub(t);
  const scrape = async () => {
    const res = await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } });
    t.match(res.headers.get('content-type'), /^text\/plain/);
    return res.text();
  };
  const before = await scrape();
  t.equal(sample(before, 'iot_hub_devices{presence="online"}'), 0);
  t.equal(sample(before, 'iot_hub_telemetry_points_written_total'), 0);
  t.equal(sample(before, 'iot_hub_device_messages_total{direction="in",transport="mqtt"}'), 0);
  t.equal(sample(before, 'iot_hub_device_messages_total{direction="out",transport="mqtt"}'), 0);
  t.equal(sample(before, 'iot_hub_telemetry_write_seconds_count'), 0);
  t.equal(sample(before, 'iot_hub_device_outbound_overflows_total{transport="ws"}'), 0);
  t.equal(sample(before, 'iot_hub_telemetry_buffer_points'), undefined, 'SQLite has no local buffer to report');
  t.ok(sample(before, 'iot_hub_nodejs_eventloop_lag_seconds') !== undefined, 'event-loop lag is exported');

  const { id, token } = await hub.provision('m-1');
  const device = await connectMqtt(t, hub, id, token);
  const errors = collectMessages(device);
  await device.subscribeAsync(`devices/${id}/errors`);
  await device.publishAsync(`devices/${id}/telemetry`, '{"metrics":{"a":1,"b":2}}', { qos: 1 });
  await device.publishAsync(`devices/${id}/telemetry`, 'not json', { qos: 1 });
  await eventually(() => errors.length === 1, 3000, 'the error message');
  await t.rejects(connectMqtt(t, hub, id, 'wrong'), { code: 4 });

  const after = await scrape();
  t.equal(sample(after, 'iot_hub_devices{presence="online"}'), 1);
  t.equal(sample(after, 'iot_hub_connections{kind="mqtt"}'), 1);
  t.equal(sample(after, 'iot_hub_telemetry_points_written_total'), 2);
  t.equal(sample(after, 'iot_hub_device_errors_total{code="bad_json"}'), 1);
  t.equal(sample(after, 'iot_hub_mqtt_dropped_publishes_total'), 1);
  t.equal(sample(after, 'iot_hub_mqtt_refused_connects_total'), 1);
  // The telemetry was handled (the bad JSON never decoded into a message); the error went out.
  t.equal(sample(after, 'iot_hub_device_messages_total{direction="in",transport="mqtt"}'), 1);
  t.equal(sample(after, 'iot_hub_device_messages_total{direction="out",transport="mqtt"}'), 1);
  t.equal(sample(after, 'iot_hub_device_messages_total{direction="in",transport="ws"}'), 0);
  t.ok((sample(after, 'iot_hub_telemetry_write_seconds_count') ?? 0) >= 1, 'each store write is timed');
  t.ok(sample(after, 'iot_hub_telemetry_write_seconds_bucket{le="2"}') !== undefined, 'buckets up to 2 s');
});

t.test('/metrics counts commands by state', async (t) => {
  const hub = await startTestHub(t);
  const scrape = async () => (await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } })).text();
  const { id, token } = await hub.provision('m-2');
  const device = await connectMqtt(t, hub, id, token);
  await device.publishAsync(`devices/${id}/hello`, '{"kind":"plug","commands":{"identify":{}}}', { qos: 1 });
  await device.endAsync();
  const res = await hub.api('POST', `/api/devices/${id}/commands`, { name: 'identify' });
  t.equal(res.status, 202);
  t.equal(sample(await scrape(), 'iot_hub_commands{state="queued"}'), 1, 'the command waits for the offline device');
});
