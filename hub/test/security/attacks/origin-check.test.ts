/**
 * Issue 18 item 15: the dashboard socket's Origin check and the API's CSRF
 * check compare the Origin with the hub's own origin including its scheme
 * (http, or https with TLS) and with --allowed-origins, not just with the
 * Host header: an https page is not the http hub, and with public origins
 * configured a request naming itself by a forged Host (as DNS rebinding
 * makes a browser do) is not the hub's own origin.
 */
import t from 'tap';
import { addUser, login } from '../../helpers/accounts.js';
import { startTestHub } from '../../helpers/hub.js';
import { exchange, statusOf, upgradeRequest } from '../../helpers/raw-http.js';
import { DASHBOARD_SUBPROTOCOL } from '@iot-hub/protocol';

function dashboardUpgrade(host: string, origin: string, cookie: string): string {
  return upgradeRequest('/ws/dashboard', { Host: host, Origin: origin, Cookie: cookie, 'Sec-WebSocket-Protocol': DASHBOARD_SUBPROTOCOL });
}

function desiredPatch(host: string, origin: string, cookie: string): string {
  const body = JSON.stringify({ state: { on: true } });
  return [
    'PATCH /api/devices/lamp-1/state/desired HTTP/1.1',
    `Host: ${host}`,
    `Origin: ${origin}`,
    `Cookie: ${cookie}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

t.test('without --allowed-origins: the hub own origin with the right scheme only', async (t) => {
  const hub = await startTestHub(t);
  await hub.provision('lamp-1', 'lamp');
  await addUser(hub, 'otto', 'operator');
  const { cookie } = await login(hub, 'otto');
  const port = hub.hub.httpPort;
  const host = `127.0.0.1:${port}`;

  t.equal(statusOf(await exchange(t, port, dashboardUpgrade(host, `https://${host}`, cookie))), 403, 'dashboard: https page, same host, plain-http hub');
  t.equal(statusOf(await exchange(t, port, desiredPatch(host, `https://${host}`, cookie))), 403, 'CSRF: https origin on the http hub');
  t.equal(statusOf(await exchange(t, port, dashboardUpgrade(host, `http://${host}`, cookie))), 101, 'dashboard: own origin');
  t.equal(statusOf(await exchange(t, port, desiredPatch(host, `http://${host}`, cookie))), 200, 'CSRF: own origin');
});

t.test('with --allowed-origins: a forged Host does not make a foreign origin the hub own', async (t) => {
  const hub = await startTestHub(t, { allowedOrigins: ['https://hub.example.com'] });
  await hub.provision('lamp-1', 'lamp');
  await addUser(hub, 'otto', 'operator');
  const { cookie } = await login(hub, 'otto');
  const port = hub.hub.httpPort;
  const forged = `evil.example:${port}`;

  t.equal(statusOf(await exchange(t, port, dashboardUpgrade(forged, `http://${forged}`, cookie))), 403, 'dashboard: Origin equal to a forged Host');
  t.equal(statusOf(await exchange(t, port, desiredPatch(forged, `http://${forged}`, cookie))), 403, 'CSRF: Origin equal to a forged Host');
  t.equal(statusOf(await exchange(t, port, dashboardUpgrade(forged, 'https://hub.example.com', cookie))), 101, 'dashboard: the configured public origin');
  t.equal(statusOf(await exchange(t, port, desiredPatch(forged, 'https://hub.example.com', cookie))), 200, 'CSRF: the configured public origin');
  t.equal(statusOf(await exchange(t, port, dashboardUpgrade(forged, 'http://hub.example.com', cookie))), 403, 'dashboard: the public host with the wrong scheme');
  const own = `127.0.0.1:${port}`;
  t.equal(statusOf(await exchange(t, port, dashboardUpgrade(own, `http://${own}`, cookie))), 101, 'the hub reached by its address is still its own origin');
});
