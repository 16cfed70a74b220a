/**
 * Load mode against the real hub: counts are exact. Every acknowledged
 * publish is in the store (summed from the history API), and every publish
 * ended acknowledged or failed.
 */
import t from 'tap';
import type { HistoryResponse } from '@iot-hub/protocol';
import { startTestHub, type TestHub } from '../../hub/test/helpers/hub.js';
import { runLoad } from '../src/load.js';
import { provisionDevices } from '../src/provision.js';

async function stored(hub: TestHub, id: string): Promise<number> {
  const res = await hub.api('GET', `/api/devices/${id}/telemetry?metric=temperature&from=0`);
  if (res.status !== 200) throw new Error(`history of ${id}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as HistoryResponse).series.flatMap((s) => s.points).reduce((n, p) => n + p.count, 0);
}

async function setup(t: Parameters<typeof startTestHub>[0], n: number) {
  const hub = await startTestHub(t);
  const devices = await provisionDevices({
    hubUrl: hub.httpUrl,
    adminToken: hub.adminToken,
    devices: Array.from({ length: n }, (_, i) => ({ id: `load-${i}`, kind: 'load-sensor' })),
  });
  return { hub, devices };
}

for (const client of ['lite', 'mqttjs'] as const) t.test(`QoS 1 flat out (${client} client): acked == stored, per device and in total`, async (t) => {
  const { hub, devices } = await setup(t, 40);
  const report = await runLoad({ mqttUrl: hub.mqttUrl, devices, durationMs: 1500, qos: 1, inflight: 4, progress: false, client });
  t.equal(report.connected, 40);
  t.equal(report.connectFailed, 0);
  t.ok(report.sent > 0, `sent ${report.sent}`);
  t.equal(report.failed, 0);
  t.equal(report.sent, report.acked + report.failed, 'every publish ended');
  t.equal(report.ackLatencyMs?.count, report.acked, 'one latency per ack');
  t.same(report.errors, {});

  let total = 0;
  for (const device of report.perDevice) {
    const n = await stored(hub, device.id);
    if (n !== device.acked) t.fail(`${device.id}: acked ${device.acked}, stored ${n}`);
    total += n;
  }
  t.equal(total, report.acked, 'stored == acked');
  t.equal(report.perDevice.reduce((n, d) => n + d.sent, 0), report.sent);
});

t.test('a fixed rate is never exceeded; QoS 0 counts writes', async (t) => {
  const { hub, devices } = await setup(t, 10);
  const paced = await runLoad({ mqttUrl: hub.mqttUrl, devices, durationMs: 1000, rate: 300, progress: false, hello: false });
  t.ok(paced.sent <= 300 * (paced.durationMs / 1000) + 2, `sent ${paced.sent} at 300/s over ${paced.durationMs.toFixed(0)} ms`);
  t.equal(paced.acked, paced.sent);
  t.equal(paced.rate, 300);

  const lines: string[] = [];
  const qos0 = await runLoad({ mqttUrl: hub.mqttUrl, devices, durationMs: 1200, qos: 0, progress: (line) => lines.push(line) });
  t.equal(qos0.ackLatencyMs, null, 'no PUBACK at QoS 0');
  t.equal(qos0.sent, qos0.acked + qos0.failed);
  t.ok(lines.length >= 1, 'a progress line each second');
  t.match(lines[0], /^load\s+1s {2}sent \d+ {2}acked \d+ {2}failed 0/);
});

t.test('devices that cannot connect are counted, not fatal; none at all is an error', async (t) => {
  const { hub, devices } = await setup(t, 2);
  const report = await runLoad({ mqttUrl: hub.mqttUrl, devices: [...devices, { id: 'load-x', token: 'nope' }], durationMs: 300, progress: false });
  t.equal(report.connected, 2);
  t.equal(report.connectFailed, 1);
  t.same(Object.keys(report.errors), ['connect: Connection refused: bad user name or password']);
  await t.rejects(runLoad({ mqttUrl: hub.mqttUrl, devices: [{ id: 'load-x', token: 'nope' }], durationMs: 300, progress: false }), {
    message: /^load: no device could connect to mqtt:\/\/127\.0\.0\.1:\d+ \(connect: /,
  });
});
