/**
 * Shadow semantics with real devices on both transports [FP-4.3]: desired
 * keeps what the operator set after the device reached it, the delta is
 * desired ≠ reported, and the device is sent desired again when its reported
 * state drifts (once per change, not while it is behind, not for a key it
 * refused). Refusals are shown in the view and end when the operator changes
 * the key or the device reaches it.
 */
import t from 'tap';
import { startTestHub } from '../helpers/hub.js';
import { TRANSPORTS, connectStateDevice, patchDesired, stateOf, values } from './state-device.js';

/** Time for a message the hub would send to arrive if it were sent; these tests assert that none was. */
const QUIET_MS = 300;
const quiet = () => new Promise((r) => setTimeout(r, QUIET_MS));

for (const transport of TRANSPORTS) {
  t.test(`${transport}: a device that resets after reaching the desired value is sent it again (issue 19)`, async (t) => {
    const hub = await startTestHub(t);
    const { id, token } = await hub.provision(`${transport}-reset`, 'thermostat');
    const device = await connectStateDevice(t, hub, transport, id, token);
    t.same(await device.nthDesired(1), { v: 1, type: 'desired', state: {}, version: 0, delta: {} }, 'on connect, with nothing desired');

    await patchDesired(hub, id, { state: { target: 20 } });
    t.same(await device.nthDesired(2), { v: 1, type: 'desired', state: { target: 20 }, version: 1, delta: { target: 20 } });
    await device.report({ target: 20 }, { version: 1 });
    const reached = await stateOf(hub, id);
    t.same([values(reached.desired), reached.delta, reached.version], [{ target: 20 }, {}, 1], 'in sync: the desired key stays, nothing in the delta');

    // The device resets to its defaults and says so, without a version.
    await device.report({ target: 21.5 });
    t.same(await device.nthDesired(3), { v: 1, type: 'desired', state: { target: 20 }, version: 1, delta: { target: 20 } }, 'desired again, same version');
    const drifted = await stateOf(hub, id);
    t.same([values(drifted.desired), drifted.delta, drifted.version], [{ target: 20 }, { target: 20 }, 1], 'not in sync: the view shows the delta');

    // A device that reboots gets it on its next connection too.
    await device.close();
    const again = await connectStateDevice(t, hub, transport, id, token);
    t.same(await again.nthDesired(1), { v: 1, type: 'desired', state: { target: 20 }, version: 1, delta: { target: 20 } }, 'on reconnect');
    await again.report({ target: 20 }, { version: 1 });
    t.same((await stateOf(hub, id)).delta, {}, 'corrected');
  });

  t.test(`${transport}: drift is answered once per reported change, and not while the report is behind`, async (t) => {
    const hub = await startTestHub(t);
    const { id, token } = await hub.provision(`${transport}-drift`, 'thermostat');
    const device = await connectStateDevice(t, hub, transport, id, token);
    await device.nthDesired(1);
    await patchDesired(hub, id, { state: { mode: 'heat', target: 20 } });
    await device.nthDesired(2);
    await device.report({ mode: 'heat', target: 20 }, { version: 1 });

    await device.report({ target: 19 });
    await device.nthDesired(3);
    await device.report({ target: 19 });
    await device.report({ target: 19, mode: 'heat' });
    await quiet();
    t.equal(device.desired().length, 3, 'the same wrong value again, or a reached key, sends nothing');
    await device.report({ target: 18 });
    await device.nthDesired(4);
    t.same(device.desired()[3]?.delta, { target: 20 }, 'another change of the wrong value: once more');

    // The operator changes desired (version 2); the device still reports for version 1.
    await patchDesired(hub, id, { state: { mode: 'eco' } });
    t.same(await device.nthDesired(5), { v: 1, type: 'desired', state: { mode: 'eco', target: 20 }, version: 2, delta: { mode: 'eco', target: 20 } });
    await device.report({ mode: 'heat', target: 17 }, { version: 1 });
    await quiet();
    t.equal(device.desired().length, 5, 'a report behind the desired version is not answered: the device will report again');
    await device.report({ mode: 'eco', target: 16 }, { version: 2 });
    t.same((await device.nthDesired(6)).delta, { target: 20 }, 'a report for the current version that drifts is answered');

    const view = await stateOf(hub, id);
    t.same([view.version, view.reportedVersion, view.delta], [2, 2, { target: 20 }], 'reports never change the desired version');
  });

  t.test(`${transport}: a refused key is shown, not resent, and cleared when the operator changes it or the device reaches it`, async (t) => {
    const hub = await startTestHub(t);
    const { id, token } = await hub.provision(`${transport}-refuse`, 'thermostat');
    const device = await connectStateDevice(t, hub, transport, id, token);
    await device.nthDesired(1);
    await patchDesired(hub, id, { state: { mode: 'turbo', target: 20 } });
    await device.nthDesired(2);
    const before = Date.now();
    await device.report({ mode: 'heat', target: 20 }, { version: 1, refused: { mode: 'no such mode', other: 'not desired: ignored' } });
    const refused = await stateOf(hub, id);
    t.same(Object.keys(refused.refused), ['mode'], 'only desired keys can be refused');
    t.match(refused.refused.mode, { reason: 'no such mode', value: 'turbo' });
    t.ok((refused.refused.mode?.ts ?? 0) >= before, 'with the time of the refusal');
    t.same(refused.delta, { mode: 'turbo' }, 'still in the delta: the device is not in the desired state');

    await device.report({ mode: 'off' });
    await quiet();
    t.equal(device.desired().length, 2, 'a refused key is not resent on drift');
    t.same(Object.keys((await stateOf(hub, id)).refused), ['mode'], 'a later report without refused keeps the refusal');

    await patchDesired(hub, id, { state: { mode: 'eco' } });
    await device.nthDesired(3);
    t.same((await stateOf(hub, id)).refused, {}, 'the operator changed the key: the refusal ends');

    await device.report({ mode: 'heat' }, { version: 2, refused: { mode: 'eco is broken' } });
    t.same(Object.keys((await stateOf(hub, id)).refused), ['mode']);
    await device.report({ mode: 'eco' }, { version: 2 });
    t.same((await stateOf(hub, id)).refused, {}, 'the device reached the value: the refusal ends');

    await device.report({ mode: 'heat' }, { version: 2, refused: { mode: 'changed my mind' } });
    await patchDesired(hub, id, { state: { mode: null } });
    const removed = await stateOf(hub, id);
    t.same([removed.refused, removed.delta], [{}, {}], 'the operator removed the key: the refusal ends');

    const metrics = await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } }).then((r) => r.text());
    t.match(metrics, /^iot_hub_desired_refused_total 3$/m, 'each refusal counted once');
  });
}

t.test('version: +1 per change of desired content; unchanged patches and reports keep it', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('versions', 'thermostat');
  const device = await connectStateDevice(t, hub, 'ws', id, token);
  await device.nthDesired(1);
  t.equal((await patchDesired(hub, id, { state: { target: 20 } })).version, 1);
  await device.report({ target: 20 }, { version: 1 });
  t.equal((await patchDesired(hub, id, { state: { target: 20 } })).version, 1, 'the reached value again: no change');
  t.equal((await patchDesired(hub, id, { state: { gone: null } })).version, 1, 'removing an absent key: no change');
  await device.report({ target: 22 });
  await device.nthDesired(3);
  t.equal((await stateOf(hub, id)).version, 1, 'a report never changes it');
  t.equal((await patchDesired(hub, id, { state: { target: 21 } })).version, 2);
  t.equal((await patchDesired(hub, id, { state: { target: null } })).version, 3);
  await quiet();
  t.same(device.desired().map((d) => d.version), [0, 1, 1, 2, 3], 'the drift answer keeps the version; no message for an unchanged patch');
});
