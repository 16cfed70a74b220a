/**
 * Desired state against what the device declared [FP-4.1, FP-7.2]: values
 * for declared state keys (422 invalid_desired), and the size of what the
 * device would receive against its `hello.maxMessageBytes` (422
 * too_large_for_device, for desired state and commands). Nothing refused is
 * stored or sent.
 */
import t from 'tap';
import type { ApiErrorBody, CommandListResponse, DeviceStateView, StateKeySpec } from '@iot-hub/protocol';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { TRANSPORTS, connectStateDevice, patchDesired, stateOf } from './state-device.js';

const DECLARED: Record<string, StateKeySpec> = {
  target: { type: 'number', unit: '°C', min: 5, max: 30, settable: true },
  level: { type: 'integer', min: 0, settable: true },
  mode: { type: 'enum', values: ['heat', 'eco', 'off'], settable: true },
  label: { type: 'string', settable: true },
  on: { type: 'boolean', settable: true },
  heating: { type: 'boolean', description: 'valve open: reported, not settable' },
};

const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));

function patch(hub: TestHub, id: string, state: Record<string, unknown>) {
  return hub.api('PATCH', `/api/devices/${id}/state/desired`, { state });
}

async function metric(hub: TestHub, name: string): Promise<string | undefined> {
  const text = await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } }).then((r) => r.text());
  return new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1];
}

t.test('a desired value for a declared device must be a settable key of the right type and range: 422 invalid_desired', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('th-decl', 'thermostat');
  const device = await connectStateDevice(t, hub, 'mqtt', id, token);
  await device.hello({ kind: 'thermostat', state: DECLARED });
  await device.nthDesired(1);

  const settable = 'settable keys: target, level, mode, label, on';
  const cases: [Record<string, unknown>, string][] = [
    [{ colour: 'red' }, `state key "colour" is not declared; ${settable}`],
    [{ heating: true }, `state key "heating" is not settable; ${settable}`],
    [{ target: 'hot' }, 'state key "target" must be a number (from 5 to 30), got "hot"'],
    [{ target: 31 }, 'state key "target" must be from 5 to 30, got 31'],
    [{ target: 4.5 }, 'state key "target" must be from 5 to 30, got 4.5'],
    [{ level: 2.5 }, 'state key "level" must be a whole number (at least 0), got 2.5'],
    [{ level: -1 }, 'state key "level" must be at least 0, got -1'],
    [{ mode: 'turbo' }, 'state key "mode" must be one of heat, eco, off, got "turbo"'],
    [{ mode: 1 }, 'state key "mode" must be one of heat, eco, off, got 1'],
    [{ on: 1 }, 'state key "on" must be a boolean, got 1'],
    [{ label: 5 }, 'state key "label" must be a string of at most 256 characters, got 5'],
    [{ target: 20, mode: 'turbo', on: 'yes' }, 'state key "mode" must be one of heat, eco, off, got "turbo"; state key "on" must be a boolean, got "yes"'],
  ];
  for (const [state, message] of cases) {
    const res = await patch(hub, id, state);
    t.same([res.status, res.body], [422, { error: 'invalid_desired', code: 422, message: `the desired value does not match what the device declared: ${message}` }], JSON.stringify(state));
  }
  const untouched = await stateOf(hub, id);
  t.same([untouched.version, untouched.desired], [0, {}], 'nothing stored');
  t.equal(device.desired().length, 1, 'nothing sent');
  const audited = (await hub.api('GET', `/api/audit?deviceId=${id}&action=state.desired&limit=1`)).body as { entries: { outcome: string }[] };
  t.equal(audited.entries[0]?.outcome, 'invalid_desired', 'the refusal is audited');

  const ok = await patchDesired(hub, id, { state: { target: 20.5, level: 3, mode: 'eco', label: 'hall', on: false, heating: null, colour: null } });
  t.same(Object.keys(ok.desired), ['target', 'level', 'mode', 'label', 'on'], 'valid values are taken; null is always allowed');
  t.equal(ok.version, 1);

  // A hello without `state` declares nothing: any key again, as in 1.0.
  await device.hello({ kind: 'thermostat' });
  t.equal((await patch(hub, id, { colour: 'red' })).status, 200, 'undeclared device: anything');
});

for (const transport of TRANSPORTS) {
  t.test(`${transport}: hello.maxMessageBytes: a desired change that would not fit is 422; a stored one that no longer fits is not sent`, async (t) => {
    const hub = await startTestHub(t);
    const { id, token } = await hub.provision(`${transport}-small`, 'display');
    const device = await connectStateDevice(t, hub, transport, id, token);
    await device.nthDesired(1);
    const text = (c: string) => c.repeat(200);
    const big = { a: text('a'), b: text('b'), c: text('c'), d: text('d') };
    await patchDesired(hub, id, { state: big });
    await device.nthDesired(2);

    // The device now says it can take 1,024 bytes; the stored document is larger.
    await device.hello({ kind: 'display', maxMessageBytes: 1024 });
    await device.close();
    const again = await connectStateDevice(t, hub, transport, id, token);
    await new Promise((r) => setTimeout(r, 300));
    t.same(again.desired(), [], 'not sent on connect: the device could not receive it');
    t.equal(await metric(hub, 'iot_hub_device_messages_too_large_total'), '1', 'counted');

    // Growing it is refused; shrinking it is taken even while it is still too large.
    const grow = await patch(hub, id, { e: 'e' });
    const wouldBe = { ...big, e: 'e' };
    const expected = bytes({ v: 1, type: 'desired', state: wouldBe, version: 2, delta: wouldBe });
    t.same([grow.status, grow.body], [
      422,
      {
        error: 'too_large_for_device',
        code: 422,
        message: `the message would be larger than the device can receive: the desired state would reach the device as ${expected} bytes, over the 1024 bytes device "${id}" can receive (hello.maxMessageBytes): remove keys (null) or send shorter values`,
      },
    ]);
    t.equal((await stateOf(hub, id)).version, 1, 'nothing stored');
    t.equal((await patchDesired(hub, id, { state: { d: null } })).version, 2, 'a smaller document is taken');
    t.same(again.desired(), [], 'and still not sent while it does not fit');
    const fits = await patchDesired(hub, id, { state: { c: null } });
    const sent = await again.nthDesired(1);
    t.same(sent, { v: 1, type: 'desired', state: { a: text('a'), b: text('b') }, version: 3, delta: { a: text('a'), b: text('b') } }, 'sent once it fits');
    t.ok(bytes(sent) <= 1024, `${bytes(sent)} bytes`);
    t.equal(fits.version, 3);
    t.equal(await metric(hub, 'iot_hub_device_messages_too_large_total'), '2', 'the change that did not fit was counted too');
  });
}

t.test('a desired patch is held to the largest message it can become: every key in the delta', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('tight', 'display');
  const device = await connectStateDevice(t, hub, 'ws', id, token);
  await device.hello({ kind: 'display', maxMessageBytes: 1024 });
  await device.nthDesired(1);
  const value = 'x'.repeat(200);
  await patchDesired(hub, id, { state: { a: value, b: value } });
  await device.report({ a: value, b: value }, { version: 1 });
  // With `a` and `b` reached the message would be small today, but not after a reset of the device.
  const res = await patch(hub, id, { c: value });
  t.equal(res.status, 422);
  t.match(res.body as ApiErrorBody, { error: 'too_large_for_device', message: /as 1\d{3} bytes, over the 1024 bytes device "tight"/ });
  t.same(Object.keys((await stateOf(hub, id)).desired), ['a', 'b']);
});

t.test('a command whose message would exceed hello.maxMessageBytes is 422 too_large_for_device, nothing stored', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('small-cmd', 'display');
  const device = await connectStateDevice(t, hub, 'mqtt', id, token);
  await device.hello({ kind: 'display', maxMessageBytes: 1024, commands: { show: { params: { text: { type: 'string', required: true } } } } });
  const post = (text: string) => hub.api('POST', `/api/devices/${id}/commands`, { name: 'show', params: { text } });
  const res = await post('y'.repeat(1000));
  t.equal(res.status, 422);
  const body = res.body as ApiErrorBody;
  t.equal(body.error, 'too_large_for_device');
  const m = /^the message would be larger than the device can receive: the command would reach the device as (\d+) bytes, over the 1024 bytes device "small-cmd" can receive \(hello\.maxMessageBytes\): send shorter params$/.exec(body.message);
  t.ok(m && Number(m[1]) > 1024, body.message);
  t.same(((await hub.api('GET', `/api/devices/${id}/commands`)).body as CommandListResponse).commands, [], 'nothing stored');
  t.equal((await post('y'.repeat(100))).status, 202, 'a command that fits is taken');
  const view = (await hub.api('GET', `/api/devices/${id}/state`)).body as DeviceStateView;
  t.equal(view.version, 0);
});
