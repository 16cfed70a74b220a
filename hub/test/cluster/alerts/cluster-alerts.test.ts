/**
 * Alerting on three real nodes (issue 21, cluster part): a rule created on
 * node 2 applies to a device connected to node 1; its threshold fires once,
 * evaluated on node 1 only, and a dashboard on node 2 sees it; it is
 * acknowledged through node 3; the device
 * moves to node 2 while firing: still the same single firing alert, no
 * second firing transition (so nothing to notify again).
 */
import t from 'tap';
import { DASHBOARD_SUBPROTOCOL, type AlertHistoryResponse, type AlertListResponse, type AlertView, type RuleWriteResponse } from '@iot-hub/protocol';
import { attachDevice } from '../../commands/test-device.js';
import type { TestHub } from '../../helpers/hub.js';
import { eventually, jsonSocket } from '../../helpers/clients.js';
import { CLUSTER_ADMIN_TOKEN, clusterDevice, startTestCluster, type TestCluster } from '../../helpers/cluster.js';

const RULE = { name: 'freezer warm', severity: 'critical', scope: { type: 'kind', kind: 'thermostat' }, condition: { type: 'above', metric: 'temp', value: 30 }, forSec: 0 };

async function openAlerts(cluster: TestCluster, node: number): Promise<AlertView[]> {
  return ((await cluster.api('GET', '/api/alerts?deviceId=freezer', undefined, node)).body as AlertListResponse).alerts;
}

async function firingEntries(cluster: TestCluster, node: number): Promise<number> {
  const history = (await cluster.api('GET', '/api/alerts/history?deviceId=freezer&state=firing', undefined, node)).body as AlertHistoryResponse;
  return history.entries.length;
}

async function metric(cluster: TestCluster, node: number, name: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${cluster.nodes[node]!.httpPort}/metrics`, { headers: { authorization: `Bearer ${CLUSTER_ADMIN_TOKEN}` } });
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.split(' ')[1]);
}

t.test('a rule made on node 2 fires once for a device on node 1, seen on node 2; the device moves to node 2 while firing: still one alert', async (t) => {
  const cluster = await startTestCluster(t, { withHaproxy: false });
  if (!cluster) return;
  const dash = await jsonSocket(t, `ws://127.0.0.1:${cluster.nodes[1]!.httpPort}/ws/dashboard`, { protocols: [DASHBOARD_SUBPROTOCOL, `bearer.${CLUSTER_ADMIN_TOKEN}`] });
  dash.send({ id: 1, op: 'subscribe', devices: '*', events: ['alert'] });
  await dash.next((f) => f.id === 1);
  const device = await clusterDevice(t, cluster, 0, 'freezer');
  await device.telemetry({ temp: 20 });

  const created = await cluster.api('POST', '/api/rules', RULE, 1);
  t.equal(created.status, 201, 'created on node 2');
  const ruleId = (created.body as RuleWriteResponse).rule.id;

  // Node 1 learns the rule within a poll; until then readings are judged without it.
  const firing = await eventually(async () => {
    await device.telemetry({ temp: 35 });
    return (await openAlerts(cluster, 2)).find((a) => a.state === 'firing') ?? null;
  }, 15_000, 'the alert to fire');
  t.match(firing, { ruleId, deviceId: 'freezer', severity: 'critical', state: 'firing', value: 35 });
  const seen = await eventually(() => dash.frames.find((f) => f.event === 'alert' && (f.alert as AlertView).state === 'firing') ?? null, 5_000, 'the dashboard on node 2 to see it');
  t.equal((seen.alert as AlertView).id, firing.id, 'the dashboard on node 2 sees the alert evaluated on node 1');
  await device.telemetry({ temp: 36 });
  t.equal(await firingEntries(cluster, 1), 1, 'one firing transition: node 1 alone evaluates the device');
  t.equal(await metric(cluster, 0, 'iot_hub_cluster_alert_devices'), 1, 'node 1 evaluates the device');
  t.equal(await metric(cluster, 2, 'iot_hub_cluster_alert_devices'), 0, 'node 3 evaluates nothing');

  // Acknowledged on node 3, which does not evaluate the device: stored there, node 1 takes it into its alert.
  const ack = await cluster.api('POST', `/api/alerts/${firing.id}/ack`, { note: 'on my way' }, 2);
  t.equal(ack.status, 200, 'acknowledged through node 3');
  t.match(ack.body, { id: firing.id, state: 'firing', acknowledged: { by: 'admin', note: 'on my way' } });
  await eventually(() => dash.frames.some((f) => f.event === 'alert' && (f.alert as AlertView).acknowledged !== null), 5_000, 'the dashboard to see the acknowledgement');

  // Moves to node 2 while firing: node 2 resumes the stored alert.
  await device.disconnect();
  const n2 = cluster.nodes[1]!;
  const moved = attachDevice(t, { mqttUrl: `mqtt://127.0.0.1:${n2.mqttPort}`, api: (m: string, p: string) => cluster.api(m, p, undefined, 1) } as unknown as TestHub, 'mqtt', 'freezer', device.token);
  await moved.connect();
  await moved.hello();
  for (const temp of [37, 38, 39]) await moved.telemetry({ temp });
  await eventually(async () => (await metric(cluster, 0, 'iot_hub_cluster_alert_devices')) === 0, 10_000, 'node 1 to let the device go');
  const open = await openAlerts(cluster, 2);
  t.match(open, [{ id: firing.id, state: 'firing', firedAt: firing.firedAt }], 'the same alert, still firing');
  t.equal(open.length, 1);
  t.equal(await firingEntries(cluster, 0), 1, 'no second firing transition (nothing is notified again)');
  t.equal(await metric(cluster, 1, 'iot_hub_cluster_alert_devices'), 1, 'node 2 evaluates the device now');
  t.equal(await metric(cluster, 1, 'iot_hub_cluster_alert_adoptions_total'), 1, 'node 2 took its alerts over once');

  // Node 2 judges it now: back to normal resolves that same alert, once.
  await moved.telemetry({ temp: 10 });
  const resolved = await eventually(async () => {
    const history = (await cluster.api('GET', '/api/alerts/history?deviceId=freezer&state=resolved', undefined, 2)).body as AlertHistoryResponse;
    return history.entries.length > 0 ? history.entries : null;
  }, 10_000, 'the alert to resolve');
  t.match(resolved, [{ alertId: firing.id, to: 'resolved', value: 10 }]);
  const ended = ((await cluster.api('GET', '/api/alerts?deviceId=freezer&state=resolved', undefined, 2)).body as AlertListResponse).alerts;
  t.match(ended, [{ id: firing.id, acknowledged: { by: 'admin', note: 'on my way' } }], 'the acknowledgement made on node 3 stayed with the alert through the move');
  t.same(await openAlerts(cluster, 0), []);
  t.equal(await firingEntries(cluster, 2), 1, 'still one firing transition in all');
  const states = dash.frames.filter((f) => f.event === 'alert' && (f.alert as AlertView).id === firing.id).map((f) => (f.alert as AlertView).state);
  t.same(states, ['firing', 'firing', 'resolved'], 'the dashboard on node 2 saw each change once: fired (forSec 0: no pending), acknowledged, resolved');
});
