/**
 * The state API [FP-4.3]: desired patches, versions, conditional writes,
 * removal with null, validation, persistence and deletion.
 */
import t from 'tap';
import { MAX_STATE_KEYS, type ApiErrorBody, type DeviceStateView } from '@iot-hub/protocol';
import { connectMqtt } from '../helpers/clients.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

function patch(hub: TestHub, id: string, body: unknown) {
  return hub.api('PATCH', `/api/devices/${id}/state/desired`, body);
}

async function stateOf(hub: TestHub, id: string): Promise<DeviceStateView> {
  const res = await hub.api('GET', `/api/devices/${id}/state`);
  if (res.status !== 200) throw new Error(`GET state of ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as DeviceStateView;
}

t.test('a new device has an empty shadow at version 0; unknown devices get 404', async (t) => {
  const hub = await startTestHub(t);
  await hub.provision('fresh');
  t.same(await stateOf(hub, 'fresh'), { deviceId: 'fresh', version: 0, reportedVersion: null, reported: {}, desired: {}, delta: {}, refused: {} });
  t.match(await hub.api('GET', '/api/devices/ghost/state'), { status: 404, body: { error: 'not_found', code: 404, message: /no device "ghost"/ } });
  t.match(await patch(hub, 'ghost', { state: { a: 1 } }), { status: 404, body: { error: 'not_found', code: 404, message: /no device "ghost"/ } });
});

t.test('desired changes bump the version once per change; unchanged patches keep it; null removes a key', async (t) => {
  const hub = await startTestHub(t);
  const { id } = await hub.provision('therm', 'thermostat');
  const before = Date.now();
  const first = await patch(hub, id, { state: { mode: 'heat', target: 21.5, eco: false } });
  t.equal(first.status, 200);
  const v1 = first.body as DeviceStateView;
  t.equal(v1.version, 1);
  t.same(v1.delta, { mode: 'heat', target: 21.5, eco: false }, 'nothing reported: everything pending');
  t.same(Object.keys(v1.desired).sort(), ['eco', 'mode', 'target']);
  t.ok(v1.desired.mode && v1.desired.mode.ts >= before, 'each desired value has its time');

  const same = (await patch(hub, id, { state: { mode: 'heat', gone: null } })).body as DeviceStateView;
  t.equal(same.version, 1, 'same value and removing an absent key change nothing');
  t.same(same.desired, v1.desired);

  const v2 = (await patch(hub, id, { state: { target: null, mode: 'cool' } })).body as DeviceStateView;
  t.equal(v2.version, 2, 'one patch, one version');
  t.same(v2.delta, { mode: 'cool', eco: false });
  t.notOk('target' in v2.desired, 'null removed the key');
  t.same(await stateOf(hub, id), v2, 'GET answers what PATCH answered');
});

t.test('ifVersion: 409 version_conflict naming the current version; a matching one applies', async (t) => {
  const hub = await startTestHub(t);
  const { id } = await hub.provision('cond');
  t.equal(((await patch(hub, id, { state: { a: 1 }, ifVersion: 0 })).body as DeviceStateView).version, 1);
  const stale = await patch(hub, id, { state: { a: 2 }, ifVersion: 0 });
  t.equal(stale.status, 409);
  t.same(stale.body, { error: 'version_conflict', code: 409, message: 'the desired state changed since that version: ifVersion is 0, the current version is 1' });
  t.same((await stateOf(hub, id)).desired.a?.value, 1, 'a refused patch changes nothing');
  const ok = (await patch(hub, id, { state: { a: 2 }, ifVersion: 1 })).body as DeviceStateView;
  t.equal(ok.version, 2);
  t.equal(ok.desired.a?.value, 2);
});

t.test('bad PATCH bodies get 400 with a message that names the problem', async (t) => {
  const hub = await startTestHub(t);
  const { id } = await hub.provision('strict');
  const tooMany = Object.fromEntries(Array.from({ length: MAX_STATE_KEYS + 1 }, (_, i) => [`k${i}`, i]));
  const cases: [unknown, RegExp][] = [
    [{}, /body must have required property 'state'/],
    [{ state: { a: 1 }, extra: true }, /body must NOT have additional properties: "extra" \(allowed: state, ifVersion\)/],
    [{ state: [1] }, /body\/state must be object/],
    [{ state: { 'bad key': 1 } }, /body\/state key "bad key" must match pattern/],
    [{ state: { '9lives': 1 } }, /body\/state key "9lives" must match pattern/],
    [{ state: { a: { nested: 1 } } }, /body\/state\/a must be a number, boolean, string or null/],
    [{ state: { a: [1] } }, /body\/state\/a must be a number, boolean, string or null/],
    [{ state: { a: 'x'.repeat(257) } }, /body\/state\/a must NOT have more than 256 characters/],
    [{ state: tooMany }, /body\/state must NOT have more than 64 properties/],
    [{ state: { a: 1 }, ifVersion: -1 }, /body\/ifVersion must be >= 0/],
    [{ state: { a: 1 }, ifVersion: 1.5 }, /body\/ifVersion must be integer/],
    [{ state: { a: 1 }, ifVersion: '1' }, /body\/ifVersion must be integer/],
  ];
  for (const [body, message] of cases) {
    const res = await patch(hub, id, body);
    t.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
    t.match(res.body as ApiErrorBody, { error: 'bad_request', code: 400, message }, JSON.stringify(body).slice(0, 80));
  }
  t.match(await hub.api('PATCH', `/api/devices/${id}/state/desired`, '{"state":', { 'content-type': 'application/json' }), { status: 400, body: { error: 'bad_json' } });
  t.equal((await stateOf(hub, id)).version, 0, 'nothing applied');
});

t.test('the desired document holds at most MAX_STATE_KEYS keys across patches', async (t) => {
  const hub = await startTestHub(t);
  const { id } = await hub.provision('full');
  const keys = (from: number, n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${from + i}`, i]));
  t.equal((await patch(hub, id, { state: keys(0, MAX_STATE_KEYS) })).status, 200);
  const over = await patch(hub, id, { state: keys(MAX_STATE_KEYS, 1) });
  t.equal(over.status, 400);
  t.same(over.body, { error: 'bad_request', code: 400, message: 'bad request: the desired state would have 65 keys; at most 64 (remove keys with null)' });
  t.equal((await patch(hub, id, { state: { ...keys(MAX_STATE_KEYS, 1), k0: null } })).status, 200, 'replacing a key in one patch fits');
});

t.test('state survives a restart; deleting the device drops it', async (t) => {
  const first = await startTestHub(t);
  const { id, token } = await first.provision('keeper');
  await patch(first, id, { state: { mode: 'heat', target: 20 } });
  const device = await connectMqtt(t, first, id, token);
  await device.publishAsync(`devices/${id}/state`, JSON.stringify({ state: { mode: 'heat', window: 'closed' }, version: 1, refused: { target: 'no heater' } }), { qos: 1 });
  await device.endAsync();
  const before = await stateOf(first, id);
  t.same(before.delta, { target: 20 });
  t.match(before.refused, { target: { reason: 'no heater', value: 20 } });

  const second = await first.restart();
  t.same(await stateOf(second, id), before, 'the same shadow after the restart');

  t.equal((await second.api('DELETE', `/api/devices/${id}`)).status, 204);
  await second.provision(id);
  t.same(await stateOf(second, id), { deviceId: id, version: 0, reportedVersion: null, reported: {}, desired: {}, delta: {}, refused: {} }, 'a new device of the same id starts empty');
  await patch(second, 'keeper', { state: { x: 1 } });
  t.equal((await second.api('DELETE', `/api/devices/${id}`)).status, 204);

  const third = await second.restart();
  await third.provision(id);
  t.equal((await stateOf(third, id)).version, 0, 'the deletion was stored too');
});
