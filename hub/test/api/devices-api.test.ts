/** The HTTP API: auth, provisioning, reads, deletes and history parameters. */
import t from 'tap';
import type { ApiErrorBody, DeviceListResponse, HistoryResponse, ProvisionResponse } from '@iot-hub/protocol';
import { connectMqtt } from '../helpers/clients.js';
import { startTestHub } from '../helpers/hub.js';

t.test('every /api/ route needs the admin token; /healthz does not', async (t) => {
  const hub = await startTestHub(t);
  const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer nope-nope-nope-nope' }, { authorization: `Basic ${hub.adminToken}` }];
  for (const headers of attempts) {
    const res = await fetch(`${hub.httpUrl}/api/devices`, { headers });
    t.equal(res.status, 401);
    t.equal(res.headers.get('www-authenticate'), 'Bearer realm="iot-hub"');
    t.match(await res.json(), { error: 'unauthorized', code: 401 });
  }
  const health = await fetch(`${hub.httpUrl}/healthz`);
  t.equal(health.status, 200);
  t.match(await health.json(), { status: 'ok', store: { kind: 'sqlite', ok: true }, devices: { total: 0 } });
});

t.test('provision: 201 with the token once; 409 on a duplicate; list and read never show tokens', async (t) => {
  const hub = await startTestHub(t);
  const created = await hub.api('POST', '/api/devices', { id: 'hall-light', kind: 'light', name: 'Hall light' });
  t.equal(created.status, 201);
  const body = created.body as ProvisionResponse;
  t.match(body, { id: 'hall-light', kind: 'light', name: 'Hall light', presence: { status: 'offline', reason: 'never-connected' } });
  t.match(body.token, /^[A-Za-z0-9_-]{43}$/);

  const dup = await hub.api('POST', '/api/devices', { id: 'hall-light', kind: 'light' });
  t.equal(dup.status, 409);
  t.match(dup.body, { error: 'conflict', code: 409, message: /already exists/ });

  const list = (await hub.api('GET', '/api/devices')).body as DeviceListResponse;
  t.same(list.devices.map((d) => d.id), ['hall-light']);
  t.notOk(JSON.stringify(list).includes(body.token), 'token not listed');
  const one = await hub.api('GET', '/api/devices/hall-light');
  t.notOk(JSON.stringify(one.body).includes(body.token), 'token not in the device view');
  t.equal((await hub.api('GET', '/api/devices?kind=plug')).body && ((await hub.api('GET', '/api/devices?kind=plug')).body as DeviceListResponse).devices.length, 0);
});

t.test('provision input is validated with specific errors', async (t) => {
  const hub = await startTestHub(t);
  const cases: [unknown, RegExp][] = [
    [{ kind: 'sensor' }, /must have required property 'id'/],
    [{ id: 'a/b', kind: 'sensor' }, /body\/id must match pattern/],
    [{ id: 'ok', kind: 'sensor', extra: 1 }, /must NOT have additional properties/],
    [{ id: 'x'.repeat(65), kind: 'sensor' }, /body\/id must match pattern/],
    [{ id: 'ok', kind: 'bad kind' }, /body\/kind must match pattern/],
  ];
  for (const [input, message] of cases) {
    const res = await hub.api('POST', '/api/devices', input);
    t.equal(res.status, 400, JSON.stringify(input));
    t.match(res.body as ApiErrorBody, { error: 'bad_request', code: 400, message });
  }
  const badJson = await hub.api('POST', '/api/devices', '{"id":', { 'content-type': 'application/json' });
  t.equal(badJson.status, 400);
  t.match(badJson.body, { error: 'bad_json', code: 400 });
});

t.test('unknown devices and routes get 404 with a JSON body', async (t) => {
  const hub = await startTestHub(t);
  t.match(await hub.api('GET', '/api/devices/nobody'), { status: 404, body: { error: 'not_found', message: /no device "nobody"/ } });
  t.match(await hub.api('DELETE', '/api/devices/nobody'), { status: 404, body: { error: 'not_found' } });
  t.match(await hub.api('GET', '/api/devices/nobody/telemetry'), { status: 404, body: { error: 'not_found' } });
  t.match(await hub.api('GET', '/api/nothing-here'), { status: 404, body: { error: 'not_found', message: /no route GET \/api\/nothing-here/ } });
});

t.test('history: ISO or epoch bounds, maxPoints downsampling with min/max/avg, bad parameters', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('therm');
  const device = await connectMqtt(t, hub, id, token);
  const start = Date.UTC(2026, 0, 1, 0, 0, 0);
  // 100 samples one second apart: values 0..99.
  const samples = Array.from({ length: 100 }, (_, i) => ({ ts: start + i * 1000, metrics: { temp: i, hum: 50 } }));
  t.ok(Date.now() - start < 365 * 24 * 3600_000, 'test data inside the accepted past window');
  await device.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ samples }), { qos: 1 });

  const raw = (await hub.api('GET', `/api/devices/${id}/telemetry?metric=temp&from=${start}&to=${start + 99_000}`)).body as HistoryResponse;
  t.equal(raw.bucketMs, 0, 'under maxPoints: raw points');
  t.equal(raw.series[0]?.points.length, 100);

  const iso = (ms: number) => new Date(ms).toISOString();
  const down = (await hub.api('GET', `/api/devices/${id}/telemetry?metric=temp&from=${iso(start)}&to=${iso(start + 99_999)}&maxPoints=10`)).body as HistoryResponse;
  t.equal(down.bucketMs, 10_000);
  t.equal(down.series[0]?.points.length, 10);
  t.same(down.series[0]?.points[0], { ts: start, avg: 4.5, min: 0, max: 9, count: 10 });
  t.same(down.series[0]?.points[9], { ts: start + 90_000, avg: 94.5, min: 90, max: 99, count: 10 });

  const both = (await hub.api('GET', `/api/devices/${id}/telemetry?metric=temp,hum&from=${start}&to=${start + 99_999}&maxPoints=1`)).body as HistoryResponse;
  t.same(both.series.map((s) => [s.metric, s.points.length, s.points.reduce((n, p) => n + p.count, 0)]).sort(), [['hum', 1, 100], ['temp', 1, 100]].sort());

  for (const [query, message] of [
    ['from=yesterday', /from must be epoch milliseconds or an ISO 8601 date/],
    ['to=2026-13-45T99:00:00Z', /to must be epoch milliseconds or an ISO 8601 date/],
    [`from=${start + 10}&to=${start}`, /is after to/],
    ['maxPoints=0', /maxPoints must be an integer 1\.\.10000/],
    ['maxPoints=abc', /maxPoints must be an integer/],
  ] as const) {
    const res = await hub.api('GET', `/api/devices/${id}/telemetry?${query}`);
    t.equal(res.status, 400, query);
    t.match(res.body, { error: 'bad_request', message }, query);
  }
});

t.test('deleting a device removes its history too', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('gone');
  const device = await connectMqtt(t, hub, id, token);
  await device.publishAsync(`devices/${id}/telemetry`, '{"metrics":{"x":1}}', { qos: 1 });
  t.equal((await hub.api('DELETE', `/api/devices/${id}`)).status, 204);
  await hub.provision('gone');
  const history = (await hub.api('GET', `/api/devices/${id}/telemetry`)).body as HistoryResponse;
  t.same(history.series, []);
});
