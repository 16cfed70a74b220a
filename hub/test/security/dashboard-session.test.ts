/**
 * [G3] on the dashboard socket: the session cookie opens it only from
 * the hub's own pages (or --allowed-origins); no cookie, no socket.
 */
import t from 'tap';
import { DASHBOARD_SUBPROTOCOL } from '@iot-hub/protocol';
import { addUser, login } from '../helpers/accounts.js';
import { jsonSocket, upgradeStatus } from '../helpers/clients.js';
import { startTestHub } from '../helpers/hub.js';

t.test('a cross-origin upgrade with a valid cookie gets 403; no cookie, no socket; same origin with it works', async (t) => {
  const hub = await startTestHub(t, { allowedOrigins: ['https://ops.example.com'] });
  await hub.provision('lamp-1', 'lamp');
  await addUser(hub, 'vera', 'viewer');
  const { cookie } = await login(hub, 'vera');
  const url = `${hub.wsUrl}/ws/dashboard`;
  const protocols = [DASHBOARD_SUBPROTOCOL];

  t.equal(await upgradeStatus(jsonSocket(t, url, { protocols, headers: { cookie, origin: 'https://evil.example' } })), 403, 'cross-site page with the cookie');
  t.equal(await upgradeStatus(jsonSocket(t, url, { protocols, headers: { origin: hub.httpUrl } })), 401, 'no cookie');
  t.equal(await upgradeStatus(jsonSocket(t, url, { protocols, headers: { origin: hub.httpUrl, cookie: 'hub_session=forged-session-id' } })), 401, 'a made-up cookie');

  // A viewer may subscribe: every socket op only reads.
  const socket = await jsonSocket(t, url, { protocols, headers: { cookie, origin: hub.httpUrl } });
  socket.send({ id: 1, op: 'subscribe', devices: '*' });
  t.match(await socket.next((f) => f.id === 1), { status: 'ok', data: { devices: [{ id: 'lamp-1' }] } });
  await jsonSocket(t, url, { protocols, headers: { cookie, origin: 'https://ops.example.com' } });
  t.pass('an allowed extra origin may use the cookie');

  const out = await login(hub, 'vera');
  await out.api('POST', '/api/auth/logout');
  t.equal(await upgradeStatus(jsonSocket(t, url, { protocols, headers: { cookie: out.cookie, origin: hub.httpUrl } })), 401, 'after logout, no socket');
});

t.test('a logout, a deleted user or a deleted token closes the sockets it opened (4401)', async (t) => {
  const hub = await startTestHub(t);
  await addUser(hub, 'vera', 'viewer');
  const vera = await login(hub, 'vera');
  const url = `${hub.wsUrl}/ws/dashboard`;
  const protocols = [DASHBOARD_SUBPROTOCOL];
  const bySession = await jsonSocket(t, url, { protocols, headers: { cookie: vera.cookie, origin: hub.httpUrl } });
  const created = (await vera.api('POST', '/api/tokens', { name: 'wall-screen' })).body as { id: string; token: string };
  const byToken = await jsonSocket(t, url, { protocols: [DASHBOARD_SUBPROTOCOL, `bearer.${created.token}`] });
  const byAdmin = await jsonSocket(t, url, { protocols: [DASHBOARD_SUBPROTOCOL, `bearer.${hub.adminToken}`] });

  await vera.api('DELETE', `/api/tokens/${created.id}`);
  t.equal((await byToken.closed).code, 4401, 'deleted token');
  await vera.api('POST', '/api/auth/logout');
  t.equal((await bySession.closed).code, 4401, 'logged out');
  byAdmin.send({ id: 1, op: 'ping' });
  t.match(await byAdmin.next((f) => f.id === 1), { status: 'ok' }, 'others stay');
});
