/** The dashboard socket: auth and origin at the upgrade, the envelope, subscriptions. */
import t from 'tap';
import { DASHBOARD_SUBPROTOCOL } from '@iot-hub/protocol';
import { connectMqtt, dashboardSocket, jsonSocket, upgradeStatus } from '../helpers/clients.js';
import { startTestHub } from '../helpers/hub.js';

t.test('no token, a wrong token or a foreign origin: refused at the upgrade', async (t) => {
  const hub = await startTestHub(t);
  const url = `${hub.wsUrl}/ws/dashboard`;
  t.equal(await upgradeStatus(jsonSocket(t, url, { protocols: [DASHBOARD_SUBPROTOCOL] })), 401, 'no token');
  t.equal(await upgradeStatus(dashboardSocket(t, hub, 'wrong-token-xxxxxxxxxxxxx')), 401, 'wrong token');
  t.equal(await upgradeStatus(jsonSocket(t, url, { protocols: [DASHBOARD_SUBPROTOCOL, `bearer.${hub.adminToken}`], headers: { origin: 'https://evil.example' } })), 403, 'cross-origin page');
  // Same origin as the hub itself is fine; so is the Authorization header for scripts.
  await jsonSocket(t, url, { protocols: [DASHBOARD_SUBPROTOCOL, `bearer.${hub.adminToken}`], headers: { origin: hub.httpUrl } });
  const script = await jsonSocket(t, url, { headers: { authorization: `Bearer ${hub.adminToken}` } });
  script.send({ id: 1, op: 'ping' });
  t.match(await script.next((f) => f.id === 1), { status: 'ok' });
});

t.test('an allowed extra origin may connect', async (t) => {
  const hub = await startTestHub(t, { allowedOrigins: ['https://ops.example.com'] });
  await jsonSocket(t, `${hub.wsUrl}/ws/dashboard`, {
    protocols: [DASHBOARD_SUBPROTOCOL, `bearer.${hub.adminToken}`],
    headers: { origin: 'https://ops.example.com' },
  });
  t.pass('connected');
});

t.test('requests get one envelope with the echoed id; bad requests get specific errors', async (t) => {
  const hub = await startTestHub(t);
  const dash = await dashboardSocket(t, hub);
  dash.send('not json');
  t.match(await dash.next((f) => f.status === 'error' && f.error === 'bad_json'), { id: null });
  dash.send({ op: 'ping' });
  t.match(await dash.next((f) => f.status === 'error' && f.error === 'bad_request'), { id: null, message: /missing "id"/ });
  dash.send({ id: 5, op: 'explode' });
  t.match(await dash.next((f) => f.id === 5), { status: 'error', error: 'bad_request', message: /unknown op "explode"/ });
  dash.send({ id: 6, op: 'subscribe', devices: 42 });
  t.match(await dash.next((f) => f.id === 6), { status: 'error', error: 'bad_request', message: /"devices" must be/ });
  dash.send({ id: 7, op: 'subscribe', devices: '*', events: ['gossip'] });
  t.match(await dash.next((f) => f.id === 7), { status: 'error', error: 'bad_request', message: /"events" must be/ });
});

t.test('a dashboard gets only the devices and event kinds it asked for', async (t) => {
  const hub = await startTestHub(t);
  const a = await hub.provision('a');
  const b = await hub.provision('b');
  const dash = await dashboardSocket(t, hub);
  dash.send({ id: 1, op: 'subscribe', devices: [a.id], events: ['telemetry'] });
  await dash.next((f) => f.id === 1);
  const ca = await connectMqtt(t, hub, a.id, a.token);
  const cb = await connectMqtt(t, hub, b.id, b.token);
  await cb.publishAsync(`devices/${b.id}/telemetry`, '{"metrics":{"x":2}}', { qos: 1 });
  await ca.publishAsync(`devices/${a.id}/telemetry`, '{"metrics":{"x":1}}', { qos: 1 });
  await dash.next((f) => f.event === 'telemetry');
  await new Promise((r) => setTimeout(r, 100));
  const events = dash.frames.filter((f) => 'event' in f);
  t.same(events.map((e) => [e.event, e.deviceId]), [['telemetry', a.id]], 'no presence events, nothing from b');

  dash.send({ id: 2, op: 'unsubscribe', devices: [a.id] });
  await dash.next((f) => f.id === 2);
  await ca.publishAsync(`devices/${a.id}/telemetry`, '{"metrics":{"x":3}}', { qos: 1 });
  await new Promise((r) => setTimeout(r, 100));
  t.equal(dash.frames.filter((f) => f.event === 'telemetry').length, 1, 'nothing after unsubscribe');
});

t.test('event kinds are chosen per device: presence of all, telemetry of one, on one socket', async (t) => {
  const hub = await startTestHub(t);
  const a = await hub.provision('a');
  const b = await hub.provision('b');
  const dash = await dashboardSocket(t, hub);
  dash.send({ id: 1, op: 'subscribe', devices: '*', events: ['presence'] });
  await dash.next((f) => f.id === 1);
  dash.send({ id: 2, op: 'subscribe', devices: [a.id], events: ['telemetry'] });
  await dash.next((f) => f.id === 2);
  const ca = await connectMqtt(t, hub, a.id, a.token);
  const cb = await connectMqtt(t, hub, b.id, b.token);
  await cb.publishAsync(`devices/${b.id}/telemetry`, '{"metrics":{"x":2}}', { qos: 1 });
  await ca.publishAsync(`devices/${a.id}/telemetry`, '{"metrics":{"x":1}}', { qos: 1 });
  await dash.next((f) => f.event === 'telemetry');
  await new Promise((r) => setTimeout(r, 100));
  const seen = () => dash.frames.filter((f) => 'event' in f).map((e) => `${String(e.event)} ${String(e.deviceId)}`);
  t.same(seen().sort(), ['presence a', 'presence b', 'telemetry a'], 'presence of both, telemetry of a only');

  // Removing a's telemetry leaves presence of every device in place.
  dash.send({ id: 3, op: 'unsubscribe', devices: [a.id], events: ['telemetry'] });
  await dash.next((f) => f.id === 3);
  await ca.publishAsync(`devices/${a.id}/telemetry`, '{"metrics":{"x":3}}', { qos: 1 });
  await ca.endAsync();
  await dash.next((f) => f.event === 'presence' && f.deviceId === a.id && (f.presence as { status: string }).status === 'offline');
  t.equal(dash.frames.filter((f) => f.event === 'telemetry').length, 1, 'no telemetry after unsubscribing it');
});

t.test('subscribing to "*" includes devices added and removed later', async (t) => {
  const hub = await startTestHub(t);
  const dash = await dashboardSocket(t, hub);
  dash.send({ id: 1, op: 'subscribe', devices: '*' });
  t.same((await dash.next((f) => f.id === 1)).data, { devices: [] });
  await hub.provision('late');
  t.match(await dash.next((f) => f.event === 'device'), { action: 'added', device: { id: 'late', presence: { status: 'offline' } } });
  await hub.api('DELETE', '/api/devices/late');
  t.match(await dash.next((f) => f.event === 'device' && f.action === 'removed'), { deviceId: 'late' });
});
