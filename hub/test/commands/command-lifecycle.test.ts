/**
 * A command's life end to end, over MQTT and over the device WebSocket alike:
 * delivery now or on reconnect, in order, redelivery with the same id,
 * results, timeout, late and repeated results, expiry, cancel, refusals,
 * idempotent retries, and the dashboard seeing each transition ([G4],
 * FP-4.4, FP-4.5).
 */
import t from 'tap';
import type { CommandListResponse, CommandView } from '@iot-hub/protocol';
import { dashboardSocket, eventually } from '../helpers/clients.js';
import { startTestHub } from '../helpers/hub.js';
import { TRANSPORTS, commandInState, getCommand, postCommand, provisionDevice } from './test-device.js';

const states = (c: CommandView) => c.transitions.map((s) => s.state);

for (const transport of TRANSPORTS) {
  t.test(`${transport}: a command to an online device goes queued → sent → acknowledged → succeeded; the dashboard sees each`, async (t) => {
    const hub = await startTestHub(t);
    const device = await provisionDevice(t, hub, transport, `th-${transport}`);
    await device.connect();
    await device.hello();
    const dash = await dashboardSocket(t, hub);
    dash.send({ id: 'sub', op: 'subscribe', devices: [device.id], events: ['command'] });
    await dash.next((f) => f.id === 'sub');

    const res = await fetch(`${hub.httpUrl}/api/devices/${device.id}/commands`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hub.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'boost', params: { minutes: 30 } }),
    });
    const created = { status: res.status, body: (await res.json()) as CommandView };
    t.equal(created.status, 202);
    const id = created.body.id;
    t.match(id, /^cmd_[0-9A-HJKMNP-TV-Z]{26}$/);
    t.equal(res.headers.get('location'), `/api/commands/${id}`);
    t.match(created.body, { id, deviceId: device.id, name: 'boost', params: { minutes: 30 }, state: 'sent', deliveries: 1, timeoutMs: 30_000, issuedBy: 'admin' });
    t.ok(created.body.expiresAt > created.body.createdAt, 'an expiry is always set');

    const [command] = await device.waitForCommands(1);
    t.same(command, { v: 1, type: 'command', id, name: 'boost', params: { minutes: 30 }, expiresAt: created.body.expiresAt });

    await device.result({ id, status: 'acknowledged' });
    t.equal((await getCommand(hub, id)).state, 'acknowledged', 'durable once the device got its ack');
    await device.result({ id, status: 'succeeded', result: { until: 1764101812000 } });
    const done = await getCommand(hub, id);
    t.match(done, { state: 'succeeded', result: { until: 1764101812000 }, deliveries: 1 });
    t.same(states(done), ['queued', 'sent', 'acknowledged', 'succeeded']);
    t.ok(done.transitions.every((s, i) => i === 0 || s.at >= (done.transitions[i - 1]?.at ?? 0)), 'transition times in order');
    t.notOk('late' in done);

    const events = await eventually(() => {
      const seen = dash.frames.filter((f) => f.event === 'command').map((f) => (f.command as CommandView).state);
      return seen.includes('succeeded') && seen;
    });
    t.same(events, ['queued', 'sent', 'acknowledged', 'succeeded']);
    t.same(device.errors, [], 'no errors to the device');
  });

  t.test(`${transport}: commands for an offline device wait and arrive in order on reconnect`, async (t) => {
    const hub = await startTestHub(t);
    const device = await provisionDevice(t, hub, transport, `off-${transport}`);
    await device.connect();
    await device.hello();
    await device.disconnect();

    const ids: string[] = [];
    for (const minutes of [5, 10, 15]) {
      const res = await postCommand(hub, device.id, { name: 'boost', params: { minutes } });
      t.equal(res.status, 202);
      t.equal(res.body.state, 'queued');
      t.equal(res.body.deliveries, 0);
      ids.push(res.body.id);
    }
    ids.push((await postCommand(hub, device.id, { name: 'identify' })).body.id);
    t.same([...ids].sort(), ids, 'ids sort in creation order');
    t.same(device.commands, [], 'nothing sent while offline');

    await device.connect();
    const received = await device.waitForCommands(4);
    t.same(received.map((c) => c.id), ids, 'all, in creation order');
    t.same(received.map((c) => c.params), [{ minutes: 5 }, { minutes: 10 }, { minutes: 15 }, {}]);
    for (const id of ids) t.match(await getCommand(hub, id), { state: 'sent', deliveries: 1 });

    const list = (await hub.api('GET', `/api/devices/${device.id}/commands`)).body as CommandListResponse;
    t.same(list.commands.map((c) => c.id), [...ids].reverse(), 'listed newest first');
    t.equal(list.next, null);
  });

  t.test(`${transport}: a device that drops mid-command gets it again with the same id; a repeated result changes nothing`, async (t) => {
    const hub = await startTestHub(t);
    const device = await provisionDevice(t, hub, transport, `drop-${transport}`);
    await device.connect();
    await device.hello();
    const { id } = (await postCommand(hub, device.id, { name: 'identify' })).body;
    await device.waitForCommands(1);
    await device.result({ id, status: 'acknowledged' });
    await device.disconnect();
    t.equal((await getCommand(hub, id)).state, 'acknowledged', 'still pending while the device is away');

    await device.connect();
    const [first, again] = await device.waitForCommands(2);
    t.equal(again?.id, id, 'redelivered with the same id');
    t.same(again, first, 'the same message');
    t.match(await getCommand(hub, id), { state: 'acknowledged', deliveries: 2 });

    // The device answers the duplicate with its previous result [FP-4.4], then resends it (a lost ack).
    await device.result({ id, status: 'succeeded', result: 'blinked' });
    await device.result({ id, status: 'succeeded', result: 'blinked' });
    await device.result({ id, status: 'acknowledged' });
    const done = await getCommand(hub, id);
    t.same(states(done), ['queued', 'sent', 'acknowledged', 'succeeded'], 'one final transition');
    t.equal(done.result, 'blinked');
    t.notOk('late' in done, 'repeats of a device-ended command are not late results');
    t.same(device.errors, []);

    await device.disconnect();
    await device.connect();
    await device.hello();
    t.equal(device.commands.length, 2, 'an ended command is not redelivered');
  });

  t.test(`${transport}: no final result within timeoutMs ends timed_out; a late result is kept and changes nothing`, async (t) => {
    const hub = await startTestHub(t);
    const device = await provisionDevice(t, hub, transport, `slow-${transport}`);
    await device.connect();
    await device.hello();
    const { id } = (await postCommand(hub, device.id, { name: 'identify', timeoutMs: 300 })).body;
    await device.waitForCommands(1);
    await device.result({ id, status: 'acknowledged' });

    const timedOut = await commandInState(hub, id, 'timed_out', 3000);
    t.same(states(timedOut), ['queued', 'sent', 'acknowledged', 'timed_out']);
    t.match(timedOut.error, /acknowledged it but sent no final result within 300 ms/);
    const sentAt = timedOut.transitions[1]?.at ?? 0;
    t.ok((timedOut.transitions[3]?.at ?? 0) - sentAt >= 300, 'counted from the send');

    await device.result({ id, status: 'failed', error: 'valve stuck' });
    await device.result({ id, status: 'failed', error: 'valve stuck' });
    const after = await getCommand(hub, id);
    t.equal(after.state, 'timed_out', 'state unchanged');
    t.equal(after.transitions.length, 4);
    t.match(after.late, [{ status: 'failed', error: 'valve stuck' }]);
    t.equal(after.late?.length, 1, 'a repeated late result is kept once');
    t.same(device.errors, [], 'the device gets no error for a late result [FP-4.5]');
  });

  t.test(`${transport}: a command still queued at expiresAt expires and is never sent`, async (t) => {
    const hub = await startTestHub(t);
    const device = await provisionDevice(t, hub, transport, `exp-${transport}`);
    await device.connect();
    await device.hello();
    await device.disconnect();
    const expiresAt = Date.now() + 300;
    const res = await postCommand(hub, device.id, { name: 'identify', expiresAt });
    t.match(res, { status: 202, body: { state: 'queued', expiresAt } });
    const expired = await commandInState(hub, res.body.id, 'expired', 3000);
    t.same(states(expired), ['queued', 'expired']);
    t.ok((expired.transitions[1]?.at ?? 0) >= expiresAt);
    t.match(expired.error, /not delivered before expiresAt/);

    await device.connect();
    await device.hello();
    t.same(device.commands, [], 'an expired command is not delivered');
  });

  t.test(`${transport}: cancel a queued and a sent command; a finished one cannot be cancelled`, async (t) => {
    const hub = await startTestHub(t);
    const device = await provisionDevice(t, hub, transport, `cxl-${transport}`);
    await device.connect();
    await device.hello();
    await device.disconnect();
    const queued = (await postCommand(hub, device.id, { name: 'identify' })).body;
    const cancelled = await hub.api('POST', `/api/commands/${queued.id}/cancel`);
    t.match(cancelled, { status: 200, body: { id: queued.id, state: 'cancelled', error: 'cancelled by admin' } });

    await device.connect();
    const sent = (await postCommand(hub, device.id, { name: 'boost', params: { minutes: 5 } })).body;
    const received = await device.waitForCommands(1);
    t.same(received.map((c) => c.id), [sent.id], 'the cancelled queued command never went out');
    t.match((await hub.api('POST', `/api/commands/${sent.id}/cancel`)).body, { state: 'cancelled' });
    await device.result({ id: sent.id, status: 'succeeded' });
    const after = await getCommand(hub, sent.id);
    t.same(states(after), ['queued', 'sent', 'cancelled']);
    t.match(after.late, [{ status: 'succeeded' }], 'the device result after the cancel is late');

    const again = await hub.api('POST', `/api/commands/${sent.id}/cancel`);
    t.match(again, { status: 409, body: { error: 'command_finished', code: 409, message: /ended cancelled/ } });
    t.match(await hub.api('POST', '/api/commands/cmd_nope/cancel'), { status: 404, body: { error: 'not_found' } });
  });

  t.test(`${transport}: an unknown command or bad params are refused with 422 before anything is stored or sent`, async (t) => {
    const hub = await startTestHub(t);
    const device = await provisionDevice(t, hub, transport, `bad-${transport}`);
    await device.connect();
    await device.hello();
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ name: 'reboot' }, 'unknown_command', /"reboot": device "bad-\w+" declares boost, identify/],
      [{ name: 'constructor' }, 'unknown_command', /declares boost, identify/],
      [{ name: 'boost' }, 'invalid_params', /missing parameter "minutes"/],
      [{ name: 'boost', params: { minutes: 3 } }, 'invalid_params', /parameter "minutes" must be at least 5/],
      [{ name: 'boost', params: { minutes: 30, speed: 2 } }, 'invalid_params', /unknown parameter "speed"/],
      [{ name: 'identify', params: { x: true } }, 'invalid_params', /unknown parameter "x"/],
    ];
    for (const [body, error, message] of cases) {
      const res = await hub.api('POST', `/api/devices/${device.id}/commands`, body);
      t.match(res, { status: 422, body: { error, code: 422, message } }, JSON.stringify(body));
    }
    // A valid command after the refusals is the first thing the device gets.
    const ok = (await postCommand(hub, device.id, { name: 'identify' })).body;
    const [first] = await device.waitForCommands(1);
    t.equal(first?.id, ok.id, 'nothing was sent for the refused ones');
    const list = (await hub.api('GET', `/api/devices/${device.id}/commands`)).body as CommandListResponse;
    t.same(list.commands.map((c) => c.id), [ok.id], 'nothing was stored for them');
  });

  t.test(`${transport}: a retried POST with the same Idempotency-Key returns the same command; another body is a conflict`, async (t) => {
    const hub = await startTestHub(t);
    const device = await provisionDevice(t, hub, transport, `idem-${transport}`);
    await device.connect();
    await device.hello();
    const key = { 'idempotency-key': 'retry-7f3a' };
    const first = await postCommand(hub, device.id, { name: 'boost', params: { minutes: 30 } }, key);
    t.equal(first.status, 202);
    t.equal(first.body.idempotencyKey, 'retry-7f3a');
    const retry = await postCommand(hub, device.id, { name: 'boost', params: { minutes: 30 } }, key);
    t.equal(retry.status, 200, 'the existing command, not a new one');
    t.equal(retry.body.id, first.body.id);

    const conflict = await hub.api('POST', `/api/devices/${device.id}/commands`, { name: 'boost', params: { minutes: 45 } }, key);
    t.match(conflict, { status: 409, body: { error: 'idempotency_conflict', code: 409, message: new RegExp(first.body.id) } });
    const otherName = await hub.api('POST', `/api/devices/${device.id}/commands`, { name: 'identify' }, key);
    t.equal(otherName.status, 409);

    await device.waitForCommands(1);
    await device.result({ id: first.body.id, status: 'succeeded' });
    const afterEnd = await postCommand(hub, device.id, { name: 'boost', params: { minutes: 30 } }, key);
    t.match(afterEnd, { status: 200, body: { id: first.body.id, state: 'succeeded' } }, 'still the same command once it ended');
    const list = (await hub.api('GET', `/api/devices/${device.id}/commands`)).body as CommandListResponse;
    t.equal(list.commands.length, 1, 'one command');
    t.equal(device.commands.length, 1, 'sent once');
  });
}
