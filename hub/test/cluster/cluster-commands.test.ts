/**
 * Issue 20, test 2 on three real nodes: commands posted to one node for
 * devices held by the others all end `succeeded`, each received once, and a
 * dashboard on a third node sees each transition once.
 */
import t from 'tap';
import type { CommandView } from '@iot-hub/protocol';
import { DASHBOARD_SUBPROTOCOL } from '@iot-hub/protocol';
import { eventually, jsonSocket } from '../helpers/clients.js';
import { CLUSTER_ADMIN_TOKEN, clusterDevice, startTestCluster } from '../helpers/cluster.js';

t.test('commands posted to node 2 for devices on nodes 1 and 3 succeed; a dashboard on node 3 sees each transition once', async (t) => {
  const cluster = await startTestCluster(t, { withHaproxy: false });
  if (!cluster) return;
  const devices = [await clusterDevice(t, cluster, 0, 'on-1a'), await clusterDevice(t, cluster, 0, 'on-1b'), await clusterDevice(t, cluster, 2, 'on-3a'), await clusterDevice(t, cluster, 2, 'on-3b')];
  // Every device answers each command: acknowledged, then succeeded.
  for (const d of devices) {
    let answered = 0;
    const timer = setInterval(() => {
      for (const c of d.commands.slice(answered)) {
        answered += 1;
        void d.result({ id: c.id, status: 'acknowledged' }).then(() => d.result({ id: c.id, status: 'succeeded', result: { done: true } }));
      }
    }, 20);
    t.teardown(() => clearInterval(timer));
  }
  const dash = await jsonSocket(t, `ws://127.0.0.1:${cluster.nodes[2]!.httpPort}/ws/dashboard`, { protocols: [DASHBOARD_SUBPROTOCOL, `bearer.${CLUSTER_ADMIN_TOKEN}`] });
  dash.send({ id: 1, op: 'subscribe', devices: '*', events: ['command'] });
  await dash.next((f) => f.id === 1);

  const created: CommandView[] = [];
  for (const d of devices) {
    for (let i = 0; i < 3; i++) {
      const res = await cluster.api('POST', `/api/devices/${d.id}/commands`, { name: 'identify' }, 1);
      t.equal(res.status, 202, `${d.id}: accepted by node 2`);
      created.push(res.body as CommandView);
    }
  }
  const final = await eventually(async () => {
    const views = await Promise.all(created.map(async (c) => (await cluster.api('GET', `/api/commands/${c.id}`, undefined, 1)).body as CommandView));
    return views.every((v) => v.state === 'succeeded') ? views : null;
  }, 20_000, 'every command to succeed');
  t.equal(final.length, 12);
  for (const d of devices) t.equal(d.commands.length, 3, `${d.id} received each of its commands once`);

  // Each command's transitions reach the dashboard on node 3 once each: queued, sent, acknowledged, succeeded.
  await eventually(() => created.every((c) => dash.frames.some((f) => f.event === 'command' && (f.command as CommandView).id === c.id && (f.command as CommandView).state === 'succeeded')), 10_000, 'the dashboard to see every command succeed');
  for (const c of created) {
    const states = dash.frames.filter((f) => f.event === 'command' && (f.command as CommandView).id === c.id).map((f) => (f.command as CommandView).state);
    t.equal(states.length, new Set(states).size, `${c.id}: no transition twice (${states.join(' → ')})`);
    t.same(new Set(states), new Set(['queued', 'sent', 'acknowledged', 'succeeded']), `${c.id}: every transition seen`);
  }
});
