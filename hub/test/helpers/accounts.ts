/** Operator accounts for tests: add users through the API and sign in as them. */
import type { TestHub } from './hub.js';

export interface Session {
  /** `hub_session=...`, for the Cookie header. */
  cookie: string;
  /** Calls the API with the cookie and the hub's own Origin; JSON in and out. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: unknown; headers: Headers }>;
}

export async function addUser(hub: TestHub, username: string, role: 'viewer' | 'operator' | 'admin', password = `${username}-password`): Promise<void> {
  const res = await hub.api('POST', '/api/users', { username, password, role });
  if (res.status !== 201) throw new Error(`adding ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
}

export async function call(
  hub: TestHub,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(hub.httpUrl + path, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Signs in; throws unless the hub answers 200 with a cookie. */
export async function login(hub: TestHub, username: string, password = `${username}-password`): Promise<Session> {
  const res = await call(hub, 'POST', '/api/auth/login', { username, password }, { origin: hub.httpUrl });
  const setCookie = res.headers.get('set-cookie');
  if (res.status !== 200 || setCookie === null) throw new Error(`login as ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
  const cookie = setCookie.split(';')[0]!;
  return {
    cookie,
    api: (method, path, body, headers = {}) => call(hub, method, path, body, { cookie, origin: hub.httpUrl, ...headers }),
  };
}
