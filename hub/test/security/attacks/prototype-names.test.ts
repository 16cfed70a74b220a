/**
 * Names that are also Object.prototype's (issue 18, item 12): `__proto__`,
 * `constructor`, `toString`, `hasOwnProperty` match NAME_PATTERN [FP-4],
 * so they are metric, command and parameter names like any other. Stored,
 * and read back through the API, the dashboard socket and a restart.
 * Frames are written as raw JSON: an object literal's `__proto__` would set
 * a prototype instead of naming a key.
 */
import t from 'tap';
import type { DeviceView, SubscribeResult } from '@iot-hub/protocol';
import { dashboardSocket, deviceSocket } from '../../helpers/clients.js';
import { startTestHub } from '../../helpers/hub.js';

const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];
const metricsJson = (base: number) => `{${NAMES.map((n, i) => `"${n}":${base + i}`).join(',')}}`;
const expected = (base: number) => NAMES.map((n, i) => [n, base + i] as const);

function valuesOf(latest: Record<string, { value: unknown }>): [string, unknown][] {
  return NAMES.map((n) => [n, Object.hasOwn(latest, n) ? latest[n]?.value : 'missing']);
}

t.test('metric and command names of Object.prototype are stored and read back everywhere', async (t) => {
  const hub = await startTestHub(t);
  const { token } = await hub.provision('protos');
  const dashboard = await dashboardSocket(t, hub);
  dashboard.send({ id: 1, op: 'subscribe', devices: ['protos'] });
  await dashboard.next((f) => f.id === 1 && f.status === 'ok');

  const ws = await deviceSocket(t, hub, 'protos', token);
  await ws.next((f) => f.type === 'welcome');
  const declared = `{${NAMES.map((n) => `"${n}":{"type":"number","unit":"u-${n}"}`).join(',')}}`;
  ws.send(`{"type":"hello","mid":"h","kind":"sensor","metrics":${declared},"commands":{"constructor":{"params":{"__proto__":{"type":"integer"},"toString":{"type":"integer","required":true}}}}}`);
  await ws.next((f) => f.mid === 'h');
  ws.send(`{"type":"telemetry","mid":"t","metrics":${metricsJson(10)}}`);
  t.match(await ws.next((f) => f.mid === 't'), { type: 'ack' });

  const view = (await hub.api('GET', '/api/devices/protos')).body as DeviceView;
  t.same(valuesOf(view.latest), expected(10), 'GET /api/devices/{id}: every name in latest');
  t.same(NAMES.map((n) => Object.hasOwn(view.capabilities?.metrics ?? {}, n) && view.capabilities?.metrics[n]?.unit), NAMES.map((n) => `u-${n}`), 'declared metrics');
  const commands = view.capabilities?.commands ?? {};
  const params = Object.hasOwn(commands, 'constructor') ? (commands.constructor as { params?: object }).params : undefined;
  t.same(Object.keys(params ?? {}), ['__proto__', 'toString'], 'declared parameters');
  const listed = ((await hub.api('GET', '/api/devices')).body as { devices: DeviceView[] }).devices[0];
  t.same(valuesOf(listed?.latest ?? {}), expected(10), 'GET /api/devices');

  const live = await dashboard.next((f) => f.event === 'telemetry');
  t.same(valuesOf(Object.fromEntries(Object.entries(live.metrics as Record<string, number>).map(([k, v]) => [k, { value: v }]))), expected(10), 'the live telemetry event');
  dashboard.send({ id: 2, op: 'subscribe', devices: ['protos'] });
  const snapshot = (await dashboard.next((f) => f.id === 2)).data as SubscribeResult;
  t.same(valuesOf(snapshot.devices[0]?.latest ?? {}), expected(10), 'the dashboard snapshot');

  // Such a command passes the declared-parameter check. (A `__proto__` key in an API body is
  // refused by Fastify's prototype-poisoning guard, on purpose: 400 before any handler.)
  const command = await hub.api('POST', '/api/devices/protos/commands', '{"name":"constructor","params":{"toString":3}}');
  t.equal(command.status, 202, `a command named constructor with a toString parameter is accepted: ${JSON.stringify(command.body)}`);
  t.equal(JSON.stringify((command.body as { params: unknown }).params), '{"toString":3}');

  const history = (await hub.api('GET', '/api/devices/protos/telemetry?from=0')).body as { series: { metric: string }[] };
  t.same(history.series.map((s) => s.metric).sort(), [...NAMES].sort(), 'history has every series');

  // After a restart the latest values come from the store (through the store thread).
  ws.ws.close();
  const again = await hub.restart();
  const reread = (await again.api('GET', '/api/devices/protos')).body as DeviceView;
  t.same(valuesOf(reread.latest), expected(10), 'latest after a restart');
});
