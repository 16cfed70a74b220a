/**
 * Seeded HTTP requests for the API fuzzer: the hub's own routes with every
 * part mutated (method, path and its ids, query, headers, credentials, JSON
 * body), and requests broken on the wire (bit flips, truncation, lying
 * Content-Length, bad chunking, smuggling pairs, over-long lines, bad
 * header syntax). Every function is a pure function of the Rng it is given.
 */
import { type Rng, mutate } from '../../../protocol/test/helpers/fuzz-mutations.js';

export interface RequestCredentials {
  host: string;
  origin: string;
  adminToken: string;
  viewerToken: string;
  /** The worker's own device: the only device id the fuzzer may name, so the control group is never touched. */
  deviceId: string;
}

interface Route {
  method: string;
  path: string;
  /** A body the route accepts, as JSON text, for mutation. */
  body?: string;
  query?: string[];
}

const ROUTES: Route[] = [
  { method: 'GET', path: '/healthz' },
  { method: 'GET', path: '/metrics' },
  { method: 'GET', path: '/' },
  { method: 'GET', path: '/index.html' },
  { method: 'GET', path: '/api/devices', query: ['kind=sensor', 'status=online', 'status=bogus'] },
  { method: 'POST', path: '/api/devices', body: '{"id":"fz-1","kind":"sensor","name":"Fuzz"}' },
  { method: 'GET', path: '/api/devices/:id' },
  { method: 'DELETE', path: '/api/devices/:id' },
  { method: 'POST', path: '/api/devices/:id/token' },
  { method: 'POST', path: '/api/devices/:id/revoke' },
  { method: 'GET', path: '/api/devices/:id/telemetry', query: ['metric=n', 'metric=t&metric=h', 'from=0', 'to=2300-01-01', 'from=-99999999999999999999', 'to=1e17', 'maxPoints=0', 'maxPoints=1000000', 'from=2026-01-01T00:00:00Z'] },
  { method: 'GET', path: '/api/devices/:id/state' },
  { method: 'PATCH', path: '/api/devices/:id/state', body: '{"state":{"target":20,"mode":"heat"},"ifVersion":0}' },
  { method: 'POST', path: '/api/devices/:id/commands', body: '{"name":"set","params":{"on":true},"timeoutMs":5000}' },
  { method: 'GET', path: '/api/devices/:id/commands', query: ['limit=5', 'limit=-1', 'before=cmd_x', 'limit=1e9'] },
  { method: 'GET', path: '/api/commands/:cmd' },
  { method: 'POST', path: '/api/commands/:cmd/cancel' },
  { method: 'GET', path: '/api/audit', query: ['limit=10', 'actor=admin', 'action=command.create', 'before=0', 'limit=abc'] },
  { method: 'GET', path: '/api/users' },
  { method: 'POST', path: '/api/users', body: '{"username":"fz-user","password":"fz-user-password-1","role":"viewer"}' },
  { method: 'DELETE', path: '/api/users/:user' },
  { method: 'GET', path: '/api/tokens', query: ['all=true'] },
  { method: 'POST', path: '/api/tokens', body: '{"name":"fz","role":"viewer"}' },
  { method: 'DELETE', path: '/api/tokens/:token' },
  { method: 'POST', path: '/api/auth/login', body: '{"username":"fuzz-viewer","password":"wrong-password"}' },
  { method: 'POST', path: '/api/auth/logout' },
  { method: 'GET', path: '/api/auth/me' },
];

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND', 'get', 'G\u00e9T'];
const JUNK_IDS = ['', '..', '%2e%2e', '%2F', 'x'.repeat(300), '__proto__', 'constructor', '%00', '%ff%fe', '温度', 'a%20b', 'fz-1', '*', '-1', '1e999', 'cmd_01KB0000000000000000000000'];

function segment(rng: Rng, name: string, c: RequestCredentials): string {
  if (name === 'id' && rng.chance(0.6)) return c.deviceId;
  if (name === 'user' && rng.chance(0.5)) return 'fz-user';
  return rng.pick(JUNK_IDS);
}

function authHeader(rng: Rng, c: RequestCredentials): [string, string][] {
  const roll = rng.next();
  if (roll < 0.4) return [['Authorization', `Bearer ${c.adminToken}`]];
  if (roll < 0.7) return [['Authorization', `Bearer ${c.viewerToken}`]];
  if (roll < 0.8) return [];
  return [
    rng.pick<[string, string]>([
      ['Authorization', 'Bearer wrong-token'],
      ['Authorization', `Basic ${Buffer.from(`admin:${c.adminToken}`).toString('base64')}`],
      ['Authorization', 'Bearer '],
      ['Authorization', `Bearer ${'t'.repeat(5000)}`],
      ['Cookie', 'hub_session=forged; hub_session=again'],
      ['Cookie', `hub_session=${'%'.repeat(300)}`],
    ]),
  ];
}

function path(rng: Rng, route: Route, c: RequestCredentials): string {
  let p = route.path.replace(/:(\w+)/g, (_m, name: string) => segment(rng, name, c));
  if (rng.chance(0.1)) p = rng.pick([p + '/', p.toUpperCase(), p + '/../../etc/passwd', p.replace('/api', '/api/'), `${p}%00`, `${p}#frag`, `//${p}`, p + '/' + 'z'.repeat(rng.pick([100, 9000]))]);
  const query: string[] = [];
  if (route.query && rng.chance(0.6)) query.push(rng.pick(route.query));
  if (rng.chance(0.15)) query.push(rng.pick(['a=1&a=2&a=3', '__proto__[x]=1', 'constructor.prototype.x=1', '%zz', '=', '&&&', 'q=' + 'q'.repeat(rng.pick([100, 20000]))]));
  return query.length ? `${p}?${query.join('&')}` : p;
}

function body(rng: Rng, route: Route): { text: string; contentType: string | null } | null {
  if (!route.body && rng.chance(0.9)) return null;
  const base = route.body ?? '{}';
  const text = rng.chance(0.8) ? mutate(base, rng.int(2 ** 32)).text : base;
  const contentType = rng.chance(0.85) ? 'application/json' : rng.pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/xml', '', null]);
  return { text, contentType };
}

/** A request on one of the routes, parts mutated; sent with `Connection: close` so its answer ends with the socket. */
export function routeRequest(rng: Rng, c: RequestCredentials): { kind: string; bytes: Buffer } {
  const route = rng.pick(ROUTES);
  const method = rng.chance(0.85) ? route.method : rng.pick(METHODS);
  const headers: [string, string][] = [['Host', c.host], ...authHeader(rng, c)];
  // Unsafe methods from a browser carry an Origin; the API's CSRF check looks at it.
  if (rng.chance(0.7)) headers.push(['Origin', rng.chance(0.85) ? c.origin : rng.pick(['http://evil.example', 'null', c.origin.replace('http:', 'https:')])]);
  const b = body(rng, route);
  const payload = b ? Buffer.from(b.text) : null;
  if (b?.contentType) headers.push(['Content-Type', b.contentType]);
  if (payload) headers.push(['Content-Length', String(payload.length)]);
  if (rng.chance(0.05)) headers.push(['Idempotency-Key', rng.pick(['k1', 'k'.repeat(500), ''])]);
  if (rng.chance(0.03)) headers.push(['Accept-Encoding', 'gzip, deflate, br']);
  if (rng.chance(0.03)) headers.push(['Content-Encoding', 'gzip']);
  headers.push(['Connection', 'close']);
  const head = `${method} ${path(rng, route, c)} HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  return { kind: `${route.method} ${route.path}`, bytes: payload ? Buffer.concat([Buffer.from(head), payload]) : Buffer.from(head) };
}

type WireMutation = (rng: Rng, c: RequestCredentials) => Buffer;

/** Each breaks HTTP itself; the hub answers 4xx, closes, or waits for the rest until its timeout. */
export const wireMutations: Record<string, WireMutation> = {
  bitFlip(rng, c) {
    const bytes = Buffer.from(routeRequest(rng, c).bytes);
    for (let i = 1 + rng.int(4); i > 0; i--) bytes[rng.int(bytes.length)]! ^= 1 << rng.int(8);
    return bytes;
  },
  truncated(rng, c) {
    const bytes = routeRequest(rng, c).bytes;
    return bytes.subarray(0, 1 + rng.int(bytes.length - 1));
  },
  lyingContentLength(rng, c) {
    const body = '{"id":"fz-2","kind":"sensor"}';
    const declared = rng.pick([body.length + 50, Math.max(0, body.length - 5), 2 ** 53, -1]);
    return Buffer.from(`POST /api/devices HTTP/1.1\r\nHost: ${c.host}\r\nAuthorization: Bearer ${c.adminToken}\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\nConnection: close\r\n\r\n${body}`);
  },
  badChunks(rng, c) {
    const chunks = rng.pick(['zz\r\n{}\r\n0\r\n\r\n', 'ffffffffffffffff\r\n{}\r\n', '2\r\n{}\r\n', '2;ext=1\r\n{}\r\n0\r\n\r\n', '-1\r\n\r\n', '2\r\n{}0\r\n\r\n']);
    return Buffer.from(`POST /api/devices/${c.deviceId}/commands HTTP/1.1\r\nHost: ${c.host}\r\nAuthorization: Bearer ${c.adminToken}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunks}`);
  },
  smuggling(rng, c) {
    const te = rng.pick(['chunked', ' chunked', 'chunked, identity', 'xchunked', 'CHUNKED']);
    return Buffer.from(`POST /api/auth/logout HTTP/1.1\r\nHost: ${c.host}\r\nContent-Length: 4\r\nTransfer-Encoding: ${te}\r\nConnection: keep-alive\r\n\r\n0\r\n\r\nGET /api/users HTTP/1.1\r\nHost: ${c.host}\r\nConnection: close\r\n\r\n`);
  },
  badHeaderSyntax(rng, c) {
    const header = rng.pick(['NoColon', ' Folded: yes', 'Bad Name: x', 'X-Nul: a\u0000b', 'X-Cr: a\rb', ': empty-name', 'Host: second-host']);
    return Buffer.from(`GET /api/devices HTTP/1.1\r\nHost: ${c.host}\r\nAuthorization: Bearer ${c.viewerToken}\r\n${header}\r\nConnection: close\r\n\r\n`);
  },
  longLines(rng, c) {
    const which = rng.int(3);
    if (which === 0) return Buffer.from(`GET /api/devices?${'a'.repeat(70_000)} HTTP/1.1\r\nHost: ${c.host}\r\nConnection: close\r\n\r\n`);
    if (which === 1) return Buffer.from(`GET /healthz HTTP/1.1\r\nHost: ${c.host}\r\nX-Big: ${'b'.repeat(70_000)}\r\nConnection: close\r\n\r\n`);
    return Buffer.from(`GET /healthz HTTP/1.1\r\nHost: ${c.host}\r\n${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v\r\n`).join('')}Connection: close\r\n\r\n`);
  },
  oddVersions(rng, c) {
    const line = rng.pick(['GET /healthz HTTP/1.0', 'GET /healthz HTTP/0.9', 'GET /healthz HTTP/2.0', 'GET /healthz', 'PRI * HTTP/2.0', 'GET http://evil.example/api/users HTTP/1.1', 'GET * HTTP/1.1', 'OPTIONS * HTTP/1.1']);
    return Buffer.from(`${line}\r\nHost: ${c.host}\r\nAuthorization: Bearer ${c.viewerToken}\r\nConnection: close\r\n\r\n`);
  },
  hugeBody(rng, c) {
    const size = rng.pick([1_100_000, 2_000_000]);
    const body = `{"state":{"x":"${'x'.repeat(size)}"}}`;
    return Buffer.from(`PATCH /api/devices/${c.deviceId}/state HTTP/1.1\r\nHost: ${c.host}\r\nAuthorization: Bearer ${c.adminToken}\r\nOrigin: ${c.origin}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  },
  expectContinue(_rng, c) {
    return Buffer.from(`POST /api/devices HTTP/1.1\r\nHost: ${c.host}\r\nAuthorization: Bearer ${c.adminToken}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n{}`);
  },
  randomBytes: (rng) => Buffer.from(Array.from({ length: 1 + rng.int(300) }, () => rng.int(256))),
};

/** One request: mostly a route with mutated parts, sometimes broken HTTP. */
export function fuzzRequest(rng: Rng, c: RequestCredentials): { kind: string; bytes: Buffer } {
  if (rng.chance(0.8)) return routeRequest(rng, c);
  const name = rng.pick(Object.keys(wireMutations));
  return { kind: `wire:${name}`, bytes: wireMutations[name]!(rng, c) };
}
