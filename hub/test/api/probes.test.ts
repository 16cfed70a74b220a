/**
 * POST /api/devices/{id}/probes, what the conformance runner uses [FP-9]:
 * a raw command message with the caller's id and a past expiresAt reaches
 * the device on both transports outside command tracking (its results are
 * ignored), a disconnect probe closes the connection (WebSocket 1001),
 * every refusal has its code, and each probe is audited.
 */
import t from 'tap';
import type { ApiErrorBody, AuditListResponse, CommandListResponse, DeviceView, ProbeResponse } from '@iot-hub/protocol';
import { addUser, login } from '../helpers/accounts.js';
import { connectMqtt, deviceSocket, eventually, mqttClosed } from '../helpers/clients.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { provisionDevice, TRANSPORTS } from '../commands/test-device.js';

async function presence(hub: TestHub, id: string): Promise<string> {
  return ((await hub.api('GET', `/api/devices/${id}`)).body as DeviceView).presence.status;
}

for (const transport of TRANSPORTS) {
  t.test(`${transport}: a command probe reaches the device as is, and its results touch no command`, async (t) => {
    const hub = await startTestHub(t);
    const device = await provisionDevice(t, hub, transport, `probe-${transport}`);
    await device.connect();
    await device.hello();
    const expiresAt = Date.now() - 60_000;
    const res = await hub.api('POST', `/api/devices/${device.id}/probes`, { kind: 'command', id: 'probe_dup1', name: 'boost', params: { minutes: 10 }, expiresAt });
    const message = { v: 1 as const, type: 'command' as const, id: 'probe_dup1', name: 'boost', params: { minutes: 10 }, expiresAt };
    t.equal(res.status, 202);
    t.same(res.body, { kind: 'command', deviceId: device.id, message } satisfies ProbeResponse);
    t.same(await device.waitForCommands(1), [message], 'the device got exactly that message, past expiresAt included');

    const again = await hub.api('POST', `/api/devices/${device.id}/probes`, { kind: 'command', id: 'probe_dup1', name: 'boost', params: { minutes: 10 }, expiresAt });
    t.equal(again.status, 202, 'the same id again: a duplicate, on purpose');
    t.same(await device.waitForCommands(2), [message, message]);

    const fresh = await hub.api('POST', `/api/devices/${device.id}/probes`, { kind: 'command', name: 'identify' });
    const freshId = (fresh.body as Extract<ProbeResponse, { kind: 'command' }>).message.id;
    t.match(freshId, /^probe_[0-9a-f]{16}$/, 'a fresh probe_ id when none is given');
    t.same((await device.waitForCommands(3))[2], { v: 1, type: 'command', id: freshId, name: 'identify', params: {} }, 'no expiresAt unless asked');

    // Acknowledged (PUBACK / ack) without an error: results for ids the hub does not track are ignored [FP-4.5].
    await device.result({ id: 'probe_dup1', status: 'succeeded', result: { until: 1 } });
    await device.result({ id: freshId, status: 'failed', error: 'no display' });
    t.same(device.errors, [], 'no error for the results');
    t.same(((await hub.api('GET', `/api/devices/${device.id}/commands`)).body as CommandListResponse).commands, [], 'no command was created or changed');

    const audit = (await hub.api('GET', `/api/audit?action=device.probe&deviceId=${device.id}`)).body as AuditListResponse;
    t.same(
      audit.entries.map((e) => [e.actor, e.outcome, e.details]).reverse(),
      [
        ['admin', 'ok', { kind: 'command', id: 'probe_dup1', name: 'boost', params: { minutes: 10 }, expiresAt }],
        ['admin', 'ok', { kind: 'command', id: 'probe_dup1', name: 'boost', params: { minutes: 10 }, expiresAt }],
        ['admin', 'ok', { kind: 'command', name: 'identify' }],
      ],
      'every probe audited with what was asked',
    );
  });
}

t.test('mqtt: a disconnect probe closes the connection; the device may reconnect at once', async (t) => {
  const hub = await startTestHub(t);
  const { token } = await hub.provision('drop-mqtt');
  const client = await connectMqtt(t, hub, 'drop-mqtt', token);
  const closed = mqttClosed(client);
  const res = await hub.api('POST', '/api/devices/drop-mqtt/probes', { kind: 'disconnect' });
  t.equal(res.status, 202);
  t.same(res.body, { kind: 'disconnect', deviceId: 'drop-mqtt' });
  await closed;
  await eventually(async () => (await presence(hub, 'drop-mqtt')) === 'offline', 5000, 'offline');
  await connectMqtt(t, hub, 'drop-mqtt', token);
  t.equal(await presence(hub, 'drop-mqtt'), 'online', 'back online: nothing holds it off');
  const audit = (await hub.api('GET', '/api/audit?action=device.probe')).body as AuditListResponse;
  t.same(audit.entries.map((e) => [e.deviceId, e.details, e.outcome]), [['drop-mqtt', { kind: 'disconnect' }, 'ok']]);
});

t.test('ws: a disconnect probe closes the socket with 1001 (reconnect with backoff) [FP-3.2]', async (t) => {
  const hub = await startTestHub(t);
  const { token } = await hub.provision('drop-ws');
  const socket = await deviceSocket(t, hub, 'drop-ws', token);
  await socket.next((f) => f.type === 'welcome');
  const res = await hub.api('POST', '/api/devices/drop-ws/probes', { kind: 'disconnect' });
  t.equal(res.status, 202);
  t.same(await socket.closed, { code: 1001, reason: 'probe' });
  await eventually(async () => (await presence(hub, 'drop-ws')) === 'offline', 5000, 'offline');
});

t.test('refusals: unknown device 404, not connected 409, no hello 409, undeclared command and bad params 422, bad shapes 400', async (t) => {
  const hub = await startTestHub(t);
  const probe = (id: string, body: unknown) => hub.api('POST', `/api/devices/${id}/probes`, body);
  t.match(await probe('ghost', { kind: 'disconnect' }), { status: 404, body: { error: 'not_found', message: 'not found: no device "ghost"' } });

  const device = await provisionDevice(t, hub, 'mqtt', 'refused');
  t.match(await probe(device.id, { kind: 'disconnect' }), { status: 409, body: { error: 'not_connected', code: 409, message: 'the device is not connected: device "refused" is not connected' } });
  t.match(await probe(device.id, { kind: 'command', name: 'identify' }), { status: 409, body: { error: 'commands_unknown' } });
  await device.connect();
  t.match(await probe(device.id, { kind: 'command', name: 'identify' }), { status: 409, body: { error: 'commands_unknown', message: /has not sent hello yet/ } });
  await device.hello();
  t.match(await probe(device.id, { kind: 'command', name: 'fly' }), {
    status: 422,
    body: { error: 'unknown_command', code: 422, message: 'the device did not declare this command: "fly": device "refused" declares boost, identify' },
  });
  t.match(await probe(device.id, { kind: 'command', name: 'boost', params: { minutes: 1 } }), { status: 422, body: { error: 'invalid_params', message: /minutes/ } });

  const shapes: [unknown, RegExp][] = [
    [{}, /must have required property 'kind'/],
    [{ kind: 'reboot' }, /kind must be equal to one of the allowed values/],
    [{ kind: 'command', name: 'identify', id: 'cmd_01ABC' }, /body\/id must match pattern/],
    [{ kind: 'command', name: 'identify', expiresAt: -1 }, /body\/expiresAt must be >= 0/],
    [{ kind: 'command', name: 'identify', extra: 1 }, /must NOT have additional properties/],
    [{ kind: 'command' }, /a command probe needs "name"/],
    [{ kind: 'disconnect', name: 'identify' }, /a disconnect probe takes no other field than "kind"/],
  ];
  for (const [body, message] of shapes) {
    const res = await probe(device.id, body);
    t.equal(res.status, 400, JSON.stringify(body));
    t.match(res.body as ApiErrorBody, { error: 'bad_request', message }, JSON.stringify(body));
  }
  t.same(device.commands, [], 'nothing reached the device');
  t.equal(await presence(hub, device.id), 'online', 'and it is still connected');

  const audit = (await hub.api('GET', '/api/audit?action=device.probe')).body as AuditListResponse;
  t.same(
    audit.entries.map((e) => e.outcome).reverse(),
    ['not_found', 'not_connected', 'commands_unknown', 'commands_unknown', 'unknown_command', 'invalid_params'],
    'each refusal audited once with its code; malformed requests are not actions',
  );
});

t.test('only an admin may probe: an operator gets 403', async (t) => {
  const hub = await startTestHub(t);
  await addUser(hub, 'olga', 'operator');
  const olga = await login(hub, 'olga');
  const res = await olga.api('POST', '/api/devices/any/probes', { kind: 'disconnect' });
  t.equal(res.status, 403);
  t.match(res.body, { error: 'forbidden', message: 'POST /api/devices/:id/probes needs the admin role (olga is operator)' });
});
