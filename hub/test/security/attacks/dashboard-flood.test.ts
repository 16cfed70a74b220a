/**
 * A viewer flooding the dashboard socket: subscriptions to made-up device
 * ids (which grew one socket to 3.26 M entries), more subscriptions than a
 * socket may hold, more sockets than a user may open. Each is refused with
 * a specific error and counted; the hub keeps serving (issue 18 item 7).
 */
import t, { type Test } from 'tap';
import { connect } from 'node:net';
import { DASHBOARD_SUBPROTOCOL } from '@iot-hub/protocol';
import { addUser, login } from '../../helpers/accounts.js';
import { dashboardSocket, upgradeStatus, type JsonSocket } from '../../helpers/clients.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';

async function refusals(hub: TestHub, reason: string): Promise<number> {
  const text = await (await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(`iot_hub_dashboard_refused_total{reason="${reason}"} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

/** An API token of a viewer account (added on first use). */
async function viewerToken(hub: TestHub, username: string, name = 'script'): Promise<string> {
  const users = (await hub.api('GET', '/api/users')).body as { users?: { username: string }[] } | { username: string }[];
  const list = Array.isArray(users) ? users : (users.users ?? []);
  if (!list.some((u) => u.username === username)) await addUser(hub, username, 'viewer');
  const res = await (await login(hub, username)).api('POST', '/api/tokens', { name });
  return (res.body as { token: string }).token;
}

/** The status line and body of a raw upgrade request, to read what a refusal says. */
function rawUpgrade(hub: TestHub, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(hub.hub.httpPort, '127.0.0.1');
    let text = '';
    socket.on('error', reject);
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('close', () => resolve({ status: Number(text.slice(9, 12)), body: text.slice(text.indexOf('\r\n\r\n') + 4) }));
    socket.write(
      'GET /ws/dashboard HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: ${DASHBOARD_SUBPROTOCOL}, bearer.${token}\r\n\r\n`,
    );
  });
}

let nextId = 0;
async function request(dash: JsonSocket, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const id = `r${++nextId}`;
  dash.send({ id, ...body });
  return dash.next((f) => f.id === id, 10_000);
}

t.test('subscribing to device ids that do not exist is refused with not_found, nothing is kept, and a flood of them changes nothing', async (t: Test) => {
  const hub = await startTestHub(t);
  await hub.provision('real-1');
  const dash = await dashboardSocket(t, hub, await viewerToken(hub, 'vera'));

  const answer = await request(dash, { op: 'subscribe', devices: ['real-1', 'ghost-1', 'ghost-2'], events: ['telemetry'] });
  t.same(answer, {
    id: answer.id,
    status: 'error',
    error: 'not_found',
    message: 'not found: no device "ghost-1", "ghost-2" (2 of the 3 ids): subscribe to provisioned devices only',
  });
  const longId = 'x'.repeat(60_000);
  const long = await request(dash, { op: 'subscribe', devices: [longId] });
  t.equal(long.error, 'not_found');
  t.ok(String(long.message).length < 300, `an outsider's id is cut in the answer (${String(long.message).length} characters)`);

  // The flood from the report, scaled down: every request is refused whole, so nothing accumulates.
  for (let batch = 0; batch < 50; batch++) {
    const ids = Array.from({ length: 1000 }, (_, i) => `made-up-${batch}-${i}`);
    dash.send({ id: `flood-${batch}`, op: 'subscribe', devices: ids });
  }
  const last = await dash.next((f) => f.id === 'flood-49', 20_000);
  t.equal(last.error, 'not_found');
  t.equal(await refusals(hub, 'unknown_device'), 52, 'every refusal counted');

  // The socket holds nothing of it: a subscribe to the real device still works and is all it gets.
  const ok = await request(dash, { op: 'subscribe', devices: ['real-1'], events: ['device'] });
  t.match(ok, { status: 'ok', data: { devices: [{ id: 'real-1' }] } });
});

t.test('a socket holds at most --dashboard-max-subscriptions devices; "*" and repeats do not count', async (t: Test) => {
  const hub = await startTestHub(t, { dashboardMaxSubscriptions: 3 });
  for (const id of ['d1', 'd2', 'd3', 'd4']) await hub.provision(id);
  const dash = await dashboardSocket(t, hub);

  t.match(await request(dash, { op: 'subscribe', devices: ['d1', 'd2'] }), { status: 'ok' });
  t.match(await request(dash, { op: 'subscribe', devices: ['d2', 'd3'], events: ['message'] }), { status: 'ok' }, 'a repeat adds event kinds, not devices');
  const over = await request(dash, { op: 'subscribe', devices: ['d4'] });
  t.same(over, {
    id: over.id,
    status: 'error',
    error: 'too_many_subscriptions',
    message: 'too many device subscriptions on this socket: it has 3, 1 more would pass --dashboard-max-subscriptions (3): unsubscribe some, or subscribe to "*"',
  });
  t.match(await request(dash, { op: 'subscribe', devices: '*', events: ['presence'] }), { status: 'ok' }, '"*" is one subscription, whatever the fleet');
  t.match(await request(dash, { op: 'unsubscribe', devices: ['d1'] }), { status: 'ok' });
  t.match(await request(dash, { op: 'subscribe', devices: ['d4'] }), { status: 'ok' }, 'room again after an unsubscribe');
  const huge = await request(dash, { op: 'subscribe', devices: Array.from({ length: 5000 }, (_, i) => `d${i}`) });
  t.equal(huge.error, 'too_many_subscriptions', 'a list longer than the limit is refused before it is looked at');
  t.equal(await refusals(hub, 'too_many_subscriptions'), 2);
});

t.test('a user opens at most --dashboard-max-sockets-per-user sockets, whatever token they use; others are not affected', async (t: Test) => {
  const hub = await startTestHub(t, { dashboardMaxSocketsPerUser: 3 });
  const first = await viewerToken(hub, 'vic', 'one');
  const second = await viewerToken(hub, 'vic', 'two');
  const sockets = [await dashboardSocket(t, hub, first), await dashboardSocket(t, hub, first), await dashboardSocket(t, hub, second)];
  const refused = await rawUpgrade(hub, second);
  t.equal(refused.status, 429, 'the 4th socket of the same user is refused at the upgrade');
  t.same(JSON.parse(refused.body), {
    error: 'too_many_sockets',
    code: 429,
    message: 'too many dashboard sockets are open for this user: vic has 3 open (--dashboard-max-sockets-per-user): close one first',
  });
  t.equal(await upgradeStatus(dashboardSocket(t, hub, await viewerToken(hub, 'wes'))), 'open', 'another user still gets in');
  t.equal(await upgradeStatus(dashboardSocket(t, hub)), 'open', 'so does the admin token');

  sockets[0]!.ws.close();
  await sockets[0]!.closed;
  t.equal(await upgradeStatus(dashboardSocket(t, hub, first)), 'open', 'a closed socket frees its place');
  t.ok((await refusals(hub, 'too_many_sockets')) >= 1, 'counted');
});

t.test('an op nested 20,000 deep or 60,000 characters long is a bad_request, answered in a few bytes', async (t: Test) => {
  const hub = await startTestHub(t);
  const dash = await dashboardSocket(t, hub);
  dash.send(`{"id":"deep","op":${'['.repeat(20_000)}${']'.repeat(20_000)}}`);
  t.same(await dash.next((f) => f.id === 'deep'), { id: 'deep', status: 'error', error: 'bad_request', message: 'bad request: "op" must be a string: subscribe, unsubscribe or ping' });
  dash.send({ id: 'long', op: 'o'.repeat(60_000) });
  const long = await dash.next((f) => f.id === 'long');
  t.equal(long.error, 'bad_request');
  t.ok(String(long.message).length < 200, `the answer names the op cut (${String(long.message).length} characters)`);
});
