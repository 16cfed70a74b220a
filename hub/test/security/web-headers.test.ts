/** Security headers and CSP on every response, CSRF on cookie changes, CORS off unless configured. */
import t from 'tap';
import { addUser, call, login } from '../helpers/accounts.js';
import { startTestHub } from '../helpers/hub.js';

t.test('every response carries the security headers and the CSP', async (t) => {
  const hub = await startTestHub(t);
  for (const path of ['/', '/healthz', '/api/devices', '/nowhere']) {
    const res = await fetch(hub.httpUrl + path);
    t.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
    t.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
    t.equal(res.headers.get('x-frame-options'), 'DENY', path);
    const csp = res.headers.get('content-security-policy') ?? '';
    t.match(csp, /default-src 'self'/, path);
    t.match(csp, /script-src 'self';/, path);
    t.match(csp, /frame-ancestors 'none'/, path);
    t.match(csp, new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.1:${hub.hub.httpPort} wss://127\\.0\\.0\\.1:${hub.hub.httpPort}`), path);
    t.equal(res.headers.get('access-control-allow-origin'), null, `${path}: no CORS by default`);
  }
});

t.test('CSRF: a cookie-authenticated change from a foreign origin, or without Origin, is refused', async (t) => {
  const hub = await startTestHub(t, { allowedOrigins: ['https://ops.example.com'] });
  await hub.provision('lamp-1', 'lamp');
  await addUser(hub, 'otto', 'operator');
  const otto = await login(hub, 'otto');
  const patch = { state: { on: true } };
  const foreign = await call(hub, 'PATCH', '/api/devices/lamp-1/state/desired', patch, { cookie: otto.cookie, origin: 'https://evil.example' });
  t.equal(foreign.status, 403);
  t.match(foreign.body, { error: 'forbidden', message: /origin https:\/\/evil.example may not send changes with the session cookie/ });
  t.equal((await call(hub, 'PATCH', '/api/devices/lamp-1/state/desired', patch, { cookie: otto.cookie })).status, 403, 'no Origin');
  t.equal((await call(hub, 'GET', '/api/devices', undefined, { cookie: otto.cookie, origin: 'https://evil.example' })).status, 200, 'reads are not changes');
  t.equal((await call(hub, 'PATCH', '/api/devices/lamp-1/state/desired', patch, { cookie: otto.cookie, origin: 'https://ops.example.com' })).status, 200, 'allowed origin');
  t.equal((await otto.api('PATCH', '/api/devices/lamp-1/state/desired', patch)).status, 200, 'own origin');
  const loginFromEvil = await call(hub, 'POST', '/api/auth/login', { username: 'otto', password: 'otto-password' }, { origin: 'https://evil.example' });
  t.equal(loginFromEvil.status, 403, 'no login CSRF');
  t.equal((await hub.api('PATCH', '/api/devices/lamp-1/state/desired', patch, { origin: 'https://evil.example' })).status, 200, 'a bearer token is not a CSRF risk');
});

t.test('CORS: off by default, on for --cors-origins with bearer tokens only', async (t) => {
  const closed = await startTestHub(t);
  const preflightHeaders = { origin: 'https://app.example.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' };
  const denied = await fetch(`${closed.httpUrl}/api/devices`, { method: 'OPTIONS', headers: preflightHeaders });
  t.equal(denied.headers.get('access-control-allow-origin'), null, 'no preflight answer');

  const open = await startTestHub(t, { corsOrigins: ['https://app.example.com'] });
  const preflight = await fetch(`${open.httpUrl}/api/devices`, { method: 'OPTIONS', headers: preflightHeaders });
  t.equal(preflight.status, 204);
  t.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example.com');
  t.match(preflight.headers.get('access-control-allow-headers'), /authorization/);
  t.equal(preflight.headers.get('access-control-allow-credentials'), null, 'never with cookies');
  const get = await fetch(`${open.httpUrl}/api/devices`, { headers: { origin: 'https://app.example.com', authorization: `Bearer ${open.adminToken}` } });
  t.equal(get.status, 200);
  t.equal(get.headers.get('access-control-allow-origin'), 'https://app.example.com');
  const other = await fetch(`${open.httpUrl}/api/devices`, { headers: { origin: 'https://other.example', authorization: `Bearer ${open.adminToken}` } });
  t.equal(other.headers.get('access-control-allow-origin'), null, 'unlisted origin');
});
