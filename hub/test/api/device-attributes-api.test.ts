/**
 * A device's room and labels over HTTP: given at provisioning, changed with
 * PATCH /api/devices/{id} (admin only, audited as device.update, pushed to
 * dashboards as a `device` `updated` event), kept across a restart,
 * validated against the protocol's limits, and filtered on in the list.
 */
import t from 'tap';
import { MAX_LABELS_PER_DEVICE, type AuditListResponse, type DeviceListResponse, type DeviceView, type ProvisionResponse } from '@iot-hub/protocol';
import { addUser, login } from '../helpers/accounts.js';
import { dashboardSocket } from '../helpers/clients.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

async function ids(hub: TestHub, query: string): Promise<string[]> {
  const res = await hub.api('GET', `/api/devices${query}`);
  if (res.status !== 200) throw new Error(`GET /api/devices${query}: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as DeviceListResponse).devices.map((d) => d.id);
}

t.test('provision takes a room and labels (stored sorted, each once); without them: null and []', async (t) => {
  let hub = await startTestHub(t);
  const created = await hub.api('POST', '/api/devices', { id: 'k1', kind: 'sensor', room: 'Kitchen', labels: ['zone:north', 'freezer', 'zone:north'] });
  t.equal(created.status, 201);
  t.match(created.body as ProvisionResponse, { id: 'k1', room: 'Kitchen', labels: ['freezer', 'zone:north'] });
  const plain = (await hub.provision('p1')) as DeviceView;
  t.same([plain.room, plain.labels], [null, []]);
  hub = await hub.restart();
  const after = (await hub.api('GET', '/api/devices/k1')).body as DeviceView;
  t.same([after.room, after.labels], ['Kitchen', ['freezer', 'zone:north']], 'kept across a restart');
});

t.test('PATCH changes name, room and labels; room null clears; audited with what changed; dashboards see it', async (t) => {
  let hub = await startTestHub(t);
  await hub.api('POST', '/api/devices', { id: 'lamp', kind: 'light', room: 'Hall', labels: ['old'] });
  const dash = await dashboardSocket(t, hub);
  dash.send({ id: 1, op: 'subscribe', devices: '*', events: ['device'] });
  await dash.next((f) => f.id === 1);

  const res = await hub.api('PATCH', '/api/devices/lamp', { name: 'Hall lamp', room: 'Living room', labels: ['b', 'a', 'b'] });
  t.equal(res.status, 200);
  t.match(res.body as DeviceView, { id: 'lamp', kind: 'light', name: 'Hall lamp', room: 'Living room', labels: ['a', 'b'] });
  const pushed = await dash.next((f) => f.event === 'device' && f.action === 'updated');
  t.match(pushed, { device: { id: 'lamp', name: 'Hall lamp', room: 'Living room', labels: ['a', 'b'] } });

  t.match(await hub.api('PATCH', '/api/devices/lamp', { room: null }), { status: 200, body: { name: 'Hall lamp', room: null, labels: ['a', 'b'] } });
  t.match(await hub.api('PATCH', '/api/devices/lamp', { labels: [] }), { status: 200, body: { room: null, labels: [] } });
  const unchanged = await hub.api('PATCH', '/api/devices/lamp', { labels: [], name: 'Hall lamp' });
  t.match(unchanged, { status: 200, body: { name: 'Hall lamp', labels: [] } }, 'a patch that changes nothing answers the device');
  t.match(await hub.api('PATCH', '/api/devices/nobody', { room: 'x' }), { status: 404, body: { error: 'not_found', message: 'no device "nobody"' } });

  await new Promise((r) => setTimeout(r, 100));
  t.equal(dash.frames.filter((f) => f.event === 'device' && f.action === 'updated').length, 3, 'one event per change; none for the patch that changed nothing');

  const audit = (await hub.api('GET', '/api/audit?action=device.update')).body as AuditListResponse;
  t.same(
    audit.entries.map((e) => [e.actor, e.deviceId, e.details, e.outcome]),
    [
      ['admin', 'nobody', { room: 'x' }, 'not_found'],
      ['admin', 'lamp', { previous: {} }, 'ok'],
      ['admin', 'lamp', { labels: [], previous: { labels: ['a', 'b'] } }, 'ok'],
      ['admin', 'lamp', { room: null, previous: { room: 'Living room' } }, 'ok'],
      ['admin', 'lamp', { name: 'Hall lamp', room: 'Living room', labels: ['a', 'b'], previous: { name: 'lamp', room: 'Hall', labels: ['old'] } }, 'ok'],
    ],
  );

  await hub.api('PATCH', '/api/devices/lamp', { room: 'Attic', labels: ['x'] });
  hub = await hub.restart();
  t.match((await hub.api('GET', '/api/devices/lamp')).body, { name: 'Hall lamp', room: 'Attic', labels: ['x'] }, 'kept across a restart');
});

t.test('room and labels are checked against the limits, and the 400 names the field', async (t) => {
  const hub = await startTestHub(t);
  await hub.provision('d1');
  const tooMany = Array.from({ length: MAX_LABELS_PER_DEVICE + 1 }, (_, i) => `l${i}`);
  const cases: [string, string, unknown, RegExp][] = [
    ['POST', '/api/devices', { id: 'x', kind: 'k', labels: tooMany }, /body\/labels must NOT have more than 16 items/],
    ['POST', '/api/devices', { id: 'x', kind: 'k', labels: ['Upper'] }, /body\/labels\/0 must match pattern/],
    ['POST', '/api/devices', { id: 'x', kind: 'k', room: '' }, /body\/room must NOT have fewer than 1 characters/],
    ['PATCH', '/api/devices/d1', { labels: tooMany }, /body\/labels must NOT have more than 16 items/],
    ['PATCH', '/api/devices/d1', { labels: ['ok', 'has space'] }, /body\/labels\/1 must match pattern/],
    ['PATCH', '/api/devices/d1', { labels: ['-lead'] }, /body\/labels\/0 must match pattern/],
    ['PATCH', '/api/devices/d1', { labels: ['x'.repeat(65)] }, /body\/labels\/0 must match pattern/],
    ['PATCH', '/api/devices/d1', { labels: 'a' }, /body\/labels must be array/],
    ['PATCH', '/api/devices/d1', { room: 'r'.repeat(65) }, /body\/room must NOT have more than 64 characters/],
    ['PATCH', '/api/devices/d1', { room: 'Hall\u0000' }, /body\/room must match pattern/],
    ['PATCH', '/api/devices/d1', { room: 'Hall\n2' }, /body\/room must match pattern/],
    ['PATCH', '/api/devices/d1', { room: ' Hall' }, /body\/room must match pattern/],
    ['PATCH', '/api/devices/d1', { room: 5 }, /body\/room must be string/],
    ['PATCH', '/api/devices/d1', { name: '' }, /body\/name must NOT have fewer than 1 characters/],
    ['PATCH', '/api/devices/d1', { kind: 'other' }, /body must NOT have additional properties/],
  ];
  for (const [method, path, body, message] of cases) {
    const res = await hub.api(method, path, body);
    t.equal(res.status, 400, JSON.stringify(body));
    t.match(res.body, { error: 'bad_request', code: 400, message }, JSON.stringify(body));
  }
  const atLimit = Array.from({ length: MAX_LABELS_PER_DEVICE }, (_, i) => `l${String(i).padStart(2, '0')}`);
  t.match(await hub.api('PATCH', '/api/devices/d1', { labels: atLimit, room: 'Küche 🍳 "oben"', name: 'n' }), { status: 200, body: { labels: atLimit, room: 'Küche 🍳 "oben"' } });
  t.match((await hub.api('GET', '/api/devices/d1')).body, { name: 'n', room: 'Küche 🍳 "oben"', labels: atLimit }, 'nothing of the refused patches was kept');
  const audit = (await hub.api('GET', '/api/audit?action=device.update')).body as AuditListResponse;
  t.equal(audit.entries.length, 1, 'malformed patches are not audited');
});

t.test('GET /api/devices filters by kind, room, label and status; unknown or repeated parameters are 400', async (t) => {
  const hub = await startTestHub(t);
  const devices = [
    { id: 'a', kind: 'sensor', room: 'Kitchen', labels: ['freezer', 'critical'] },
    { id: 'b', kind: 'sensor', room: 'Hall', labels: ['critical'] },
    { id: 'c', kind: 'light', room: 'Kitchen' },
    { id: 'd', kind: 'light' },
  ];
  for (const d of devices) t.equal((await hub.api('POST', '/api/devices', d)).status, 201);
  t.same(await ids(hub, ''), ['a', 'b', 'c', 'd']);
  t.same(await ids(hub, '?room=Kitchen'), ['a', 'c']);
  t.same(await ids(hub, '?room=kitchen'), [], 'rooms match exactly');
  t.same(await ids(hub, '?label=critical'), ['a', 'b']);
  t.same(await ids(hub, '?label=critical&room=Kitchen'), ['a']);
  t.same(await ids(hub, '?kind=light&room=Kitchen'), ['c']);
  t.same(await ids(hub, '?kind=light&label=critical'), []);
  t.same(await ids(hub, `?room=${encodeURIComponent('Living room')}`), []);
  t.same(await ids(hub, '?status=offline&label=freezer'), ['a']);
  for (const [query, message] of [
    ['?lable=critical', 'unknown query parameter "lable"; use kind, status, room, label'],
    ['?label=a&label=b', 'label must be given once'],
  ] as const) {
    t.match(await hub.api('GET', `/api/devices${query}`), { status: 400, body: { error: 'bad_request', message } }, query);
  }
});

t.test('only an admin may change a device: viewers and operators get 403 and nothing changes', async (t) => {
  const hub = await startTestHub(t);
  await hub.api('POST', '/api/devices', { id: 'd1', kind: 'sensor', labels: ['keep'] });
  await addUser(hub, 'vera', 'viewer');
  await addUser(hub, 'otto', 'operator');
  await addUser(hub, 'ada', 'admin');
  for (const name of ['vera', 'otto']) {
    const session = await login(hub, name);
    t.match(await session.api('PATCH', '/api/devices/d1', { labels: ['mine'] }), { status: 403, body: { error: 'forbidden' } }, name);
    t.same((await session.api('GET', '/api/devices?label=keep')).status, 200, `${name} reads and filters`);
  }
  const ada = await login(hub, 'ada');
  t.match(await ada.api('PATCH', '/api/devices/d1', { labels: ['ada'] }), { status: 200, body: { labels: ['ada'] } });
  const audit = (await hub.api('GET', '/api/audit?action=device.update')).body as AuditListResponse;
  t.same(
    audit.entries.map((e) => [e.actor, e.outcome]),
    [['ada', 'ok']],
    'refused callers are not recorded (403), the admin is',
  );
});
