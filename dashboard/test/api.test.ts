/**
 * The typed API calls of the device page against a fake fetch: the exact
 * URL, method, headers and body each one sends, and errors carrying the
 * catalog code of the hub's answer.
 */
import t from 'tap';
import type { CommandView, DeviceStateView } from '@iot-hub/protocol';
import {
  ApiError,
  getDeviceState,
  getHistory,
  listCommands,
  patchDesiredState,
  sendCommand,
  type ApiAuth,
} from '../src/data/api.js';

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

function fakeFetch(status: number, body: unknown) {
  const calls: Call[] = [];
  const fetch = (async (input: string | URL | Request, init: RequestInit = {}) => {
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, key) => (headers[key] = value));
    calls.push({ url: String(input), method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.parse(String(init.body)) });
    return new Response(body === undefined ? '' : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  }) as typeof globalThis.fetch;
  return { calls, fetch };
}

function auth(fetch: typeof globalThis.fetch): ApiAuth {
  return { token: 'tok-0123456789abcdef', baseUrl: 'http://hub.test', fetch };
}

const STATE: DeviceStateView = { deviceId: 'plug 1', version: 3, reportedVersion: 2, reported: {}, desired: {}, delta: {}, refused: {} };

t.test('getHistory asks for a range and a point budget, escaping the id', async (t) => {
  const { calls, fetch } = fakeFetch(200, { deviceId: 'plug 1', from: 1, to: 2, bucketMs: 0, series: [] });
  await getHistory(auth(fetch), 'plug 1', { from: 1000.4, to: 2000.2, maxPoints: 640 });
  await getHistory(auth(fetch), 'plug 1', { from: 1000, to: 2000, maxPoints: 10, metrics: ['power', 'on'] });
  t.equal(calls[0]!.url, 'http://hub.test/api/devices/plug%201/telemetry?from=1000&to=2001&maxPoints=640');
  t.equal(calls[1]!.url, 'http://hub.test/api/devices/plug%201/telemetry?from=1000&to=2000&maxPoints=10&metric=power%2Con');
  t.equal(calls[0]!.headers.authorization, 'Bearer tok-0123456789abcdef');
  t.equal(calls[0]!.headers['content-type'], undefined, 'a GET has no body type');
});

t.test('sendCommand posts name and params as JSON and returns the command', async (t) => {
  const command = { id: 'c1', deviceId: 'plug 1', name: 'turn_on', state: 'queued' } as CommandView;
  const { calls, fetch } = fakeFetch(202, command);
  const answer = await sendCommand(auth(fetch), 'plug 1', { name: 'turn_on', params: {} });
  t.strictSame(answer, command);
  t.equal(calls[0]!.url, 'http://hub.test/api/devices/plug%201/commands');
  t.equal(calls[0]!.method, 'POST');
  t.equal(calls[0]!.headers['content-type'], 'application/json');
  t.strictSame(calls[0]!.body, { name: 'turn_on', params: {} });
});

t.test('a refused command is an ApiError with the catalog code and message', async (t) => {
  const { fetch } = fakeFetch(422, { error: 'invalid_params', code: 422, message: 'the parameters do not match what the device declared: parameter "target" must be at most 30' });
  const error = await sendCommand(auth(fetch), 'th', { name: 'set_target', params: { target: 99 } }).catch((e: unknown) => e);
  t.ok(error instanceof ApiError);
  t.match(error, { status: 422, code: 'invalid_params', message: /must be at most 30/ });
});

t.test('listCommands pages with limit and before', async (t) => {
  const { calls, fetch } = fakeFetch(200, { commands: [], next: null });
  await listCommands(auth(fetch), 'x', { limit: 50 });
  await listCommands(auth(fetch), 'x', { limit: 50, before: 'cursor/1' });
  t.equal(calls[0]!.url, 'http://hub.test/api/devices/x/commands?limit=50');
  t.equal(calls[1]!.url, 'http://hub.test/api/devices/x/commands?limit=50&before=cursor%2F1');
});

t.test('device state: read, and a conditional patch of the desired state', async (t) => {
  const { calls, fetch } = fakeFetch(200, STATE);
  t.strictSame(await getDeviceState(auth(fetch), 'plug 1'), STATE);
  await patchDesiredState(auth(fetch), 'plug 1', { state: { on: true, level: null }, ifVersion: 3 });
  t.equal(calls[0]!.url, 'http://hub.test/api/devices/plug%201/state');
  t.equal(calls[1]!.url, 'http://hub.test/api/devices/plug%201/state/desired');
  t.equal(calls[1]!.method, 'PATCH');
  t.strictSame(calls[1]!.body, { state: { on: true, level: null }, ifVersion: 3 });

  const conflict = fakeFetch(409, { error: 'version_conflict', code: 409, message: 'the desired state changed since that version' });
  const error = await patchDesiredState(auth(conflict.fetch), 'plug 1', { state: { on: false }, ifVersion: 2 }).catch((e: unknown) => e);
  t.match(error, { status: 409, code: 'version_conflict' });
});

t.test('an answer without the error body still says the status', async (t) => {
  const { fetch } = fakeFetch(502, undefined);
  const error = await getDeviceState(auth(fetch), 'x').catch((e: unknown) => e);
  t.match(error, { status: 502, code: 'http_502' });
});
