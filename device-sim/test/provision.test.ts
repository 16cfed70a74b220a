/** Provisioning through the real hub API, and its error messages. */
import t from 'tap';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestHub } from '../../hub/test/helpers/hub.js';
import { HubApiError } from '../src/hub-api.js';
import { deleteDevices, mapConcurrent, provisionDevices, readCredentialsFile, writeCredentialsFile } from '../src/provision.js';
import { freePort } from './helpers/ports.js';

t.test('provisions in parallel; a taken id is deleted and provisioned again', async (t) => {
  const hub = await startTestHub(t);
  const devices = Array.from({ length: 30 }, (_, i) => ({ id: `p-${i}`, kind: 'climate-sensor' }));
  const first = await provisionDevices({ hubUrl: hub.httpUrl, adminToken: hub.adminToken, devices, concurrency: 10 });
  t.same(first.map((c) => c.id), devices.map((d) => d.id), 'results keep the input order');
  t.ok(first.every((c) => c.token.length > 0 && c.kind === 'climate-sensor'));

  const again = await provisionDevices({ hubUrl: hub.httpUrl, adminToken: hub.adminToken, devices: devices.slice(0, 2) });
  t.not(again[0]?.token, first[0]?.token, 'a fresh token');

  const refused = await provisionDevices({ hubUrl: hub.httpUrl, adminToken: hub.adminToken, devices: devices.slice(0, 1), replaceExisting: false }).catch((e: unknown) => e);
  t.type(refused, HubApiError);
  t.equal((refused as HubApiError).status, 409);
  t.equal((refused as HubApiError).body?.error, 'conflict');
  t.match((refused as HubApiError).message, /^POST \/api\/devices failed: HTTP 409 conflict: /);

  await deleteDevices({ hubUrl: hub.httpUrl, adminToken: hub.adminToken, ids: ['p-0', 'p-0', 'never-was'] });
  t.equal((await hub.api('GET', '/api/devices/p-0')).status, 404);
});

t.test('a wrong admin token is a 401 HubApiError with the API error body', async (t) => {
  const hub = await startTestHub(t);
  const err = await provisionDevices({ hubUrl: hub.httpUrl, adminToken: 'wrong-admin-token-000000', devices: [{ id: 'x', kind: 'k' }] }).catch((e: unknown) => e);
  t.type(err, HubApiError);
  t.equal((err as HubApiError).status, 401);
  t.equal((err as HubApiError).body?.error, 'unauthorized');
});

t.test('a bad request shows the API error message', async (t) => {
  const hub = await startTestHub(t);
  const err = await provisionDevices({ hubUrl: hub.httpUrl, adminToken: hub.adminToken, devices: [{ id: 'no/slashes', kind: 'k' }] }).catch((e: unknown) => e);
  t.type(err, HubApiError);
  t.equal((err as HubApiError).status, 400);
  t.match((err as HubApiError).message, /^POST \/api\/devices failed: HTTP 400 \w+: .+/);
});

t.test('an unreachable hub names the URL and the reason', async (t) => {
  const port = await freePort();
  const err = await provisionDevices({ hubUrl: `http://127.0.0.1:${port}`, adminToken: 'x', devices: [{ id: 'x', kind: 'k' }] }).catch((e: unknown) => e);
  t.type(err, HubApiError);
  t.equal((err as HubApiError).unreachable, true);
  t.equal((err as HubApiError).message, `hub unreachable at http://127.0.0.1:${port} (POST /api/devices): ECONNREFUSED`);
});

t.test('credentials file round trip, owner-only, with clear errors', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'device-sim-creds-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'creds.json');
  const creds = [{ id: 'a', token: 'ta', kind: 'climate-sensor' }];
  await writeCredentialsFile(file, creds);
  t.same(await readCredentialsFile(file), creds);
  t.equal((await stat(file)).mode & 0o777, 0o600);
  await writeCredentialsFile(file, []);
  const bad = join(dir, 'bad.json');
  await import('node:fs/promises').then((fs) => fs.writeFile(bad, '{"devices":[{"id":"a"}]}'));
  await t.rejects(readCredentialsFile(bad), { message: `credentials file ${bad}: devices[0] needs string "id", "token" and "kind"` });
});

t.test('mapConcurrent keeps order, bounds concurrency and stops after the first error', async (t) => {
  let active = 0;
  let peak = 0;
  const out = await mapConcurrent([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
    active++;
    peak = Math.max(peak, active);
    await new Promise((r) => setTimeout(r, 5 * (n % 3)));
    active--;
    return n * 10;
  });
  t.same(out, [10, 20, 30, 40, 50, 60, 70]);
  t.equal(peak, 3);
  const started: number[] = [];
  await t.rejects(
    mapConcurrent([1, 2, 3, 4, 5, 6], 1, async (n) => {
      started.push(n);
      if (n === 2) throw new Error('boom');
    }),
    { message: 'boom' },
  );
  t.same(started, [1, 2]);
});
