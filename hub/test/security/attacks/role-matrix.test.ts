/**
 * [G3] on every route Fastify serves: each registered route pattern
 * × GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS × no credentials, viewer,
 * operator, admin. Routes are read from Fastify itself (implicit HEAD routes
 * included), so a new route is covered without touching this file. The
 * expected roles below restate the role table of docs/security.md independently of
 * hub/src/auth/roles.ts: a route added there with another role must be
 * added here too, on purpose.
 *
 * Path parameters are filled with ids that do not exist, so an allowed call
 * ends in 404 or 400 and changes nothing; what is asserted is that the
 * role check answered first where it must.
 */
import t from 'tap';
import { addUser, call, login } from '../../helpers/accounts.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';

type Role = 'viewer' | 'operator' | 'admin';
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** About oneself: any signed-in principal. */
const SELF = new Set(['GET /api/auth/me', 'HEAD /api/auth/me', 'POST /api/auth/logout', 'GET /api/tokens', 'HEAD /api/tokens', 'POST /api/tokens', 'DELETE /api/tokens/:id']);
const OPERATOR = new Set([
  'POST /api/devices/:id/commands',
  'POST /api/commands/:id/cancel',
  'PATCH /api/devices/:id/state/desired',
  'POST /api/rules',
  'PUT /api/rules/:id',
  'DELETE /api/rules/:id',
  'POST /api/alerts/:id/ack',
  'POST /api/silences',
  'DELETE /api/silences/:id',
]);
/** Reads of other people's accounts, and of where alerts go (webhook URLs). */
const ADMIN_READS = new Set(['/api/users', '/api/notifiers', '/api/notifiers/:id/dead-letters']);

/** The role table of docs/security.md: null = any signed-in principal. */
function expectedRole(method: string, url: string): Role | null {
  if (SELF.has(`${method} ${url}`)) return null;
  if (method === 'GET' || method === 'HEAD') return ADMIN_READS.has(url) ? 'admin' : 'viewer';
  return OPERATOR.has(`${method} ${url}`) ? 'operator' : 'admin';
}

const guarded = (url: string): boolean => url.startsWith('/api/') || url === '/metrics';
const concrete = (url: string): string => url.replace(/:[A-Za-z]+/g, 'no-such-thing');

async function tokenFor(hub: TestHub, role: Role): Promise<string> {
  await addUser(hub, `${role}-user`, role);
  const session = await login(hub, `${role}-user`);
  const res = await session.api('POST', '/api/tokens', { name: `${role}-matrix` });
  if (res.status !== 201) throw new Error(`token for ${role}: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { token: string }).token;
}

t.test('every route × method × role: nobody gets past the role table, HEAD included', async (t) => {
  const hub = await startTestHub(t);
  const tokens: Record<Role, string> = { viewer: await tokenFor(hub, 'viewer'), operator: await tokenFor(hub, 'operator'), admin: await tokenFor(hub, 'admin') };

  const registered = new Set(hub.hub.httpRoutes.map((r) => `${r.method} ${r.url}`));
  t.ok(registered.has('HEAD /api/users'), 'Fastify added HEAD for GET routes, and they are enumerated');
  const urls = [...new Set(hub.hub.httpRoutes.map((r) => r.url))].filter(guarded).sort();
  t.ok(urls.length >= 15, `${urls.length} guarded route patterns enumerated`);

  let checked = 0;
  for (const url of urls) {
    const path = concrete(url);
    for (const method of METHODS) {
      const isRoute = registered.has(`${method} ${url}`);
      const pub = method === 'POST' && url === '/api/auth/login';
      const anonymous = await call(hub, method, path, undefined, {});
      if (pub) t.not(anonymous.status, 401, `${method} ${url} is public`);
      else t.equal(anonymous.status, 401, `${method} ${url} without credentials`);

      for (const role of ['viewer', 'operator', 'admin'] as const) {
        const res = await call(hub, method, path, undefined, { authorization: `Bearer ${tokens[role]}` });
        const what = `${method} ${url} as ${role}: ${res.status}`;
        checked += 1;
        if (!isRoute) {
          // No such route: never a success, whoever asks.
          t.ok(res.status === 403 || res.status === 404, what);
          continue;
        }
        const needed = pub ? null : expectedRole(method, url);
        if (needed !== null && RANK[role] < RANK[needed]) {
          t.equal(res.status, 403, what);
          if (method !== 'HEAD') {
            t.same(res.body, { error: 'forbidden', code: 403, message: `${method} ${url} needs the ${needed} role (token:${role}-matrix is ${role})` }, `${what}: says why`);
          }
        } else {
          t.ok(res.status !== 401 && res.status !== 403, `${what}: allowed`);
        }
      }
    }
  }
  t.ok(checked > 350, `${checked} authenticated calls made`);
});

t.test('HEAD /api/users as a viewer is refused like GET, and sends no body length of the user list', async (t) => {
  const hub = await startTestHub(t);
  await addUser(hub, 'vera', 'viewer');
  const vera = await login(hub, 'vera');
  const head = await fetch(`${hub.httpUrl}/api/users`, { method: 'HEAD', headers: { cookie: vera.cookie } });
  t.equal(head.status, 403);
  const refusal = JSON.stringify({ error: 'forbidden', code: 403, message: 'HEAD /api/users needs the admin role (vera is viewer)' });
  t.equal(head.headers.get('content-length'), String(Buffer.byteLength(refusal)), 'the length of the refusal, not of the user list');
});
