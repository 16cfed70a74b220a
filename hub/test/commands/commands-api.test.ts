/**
 * The command routes' refusals and reads, whatever the transport: request
 * shape, unknown device, no hello yet, expired, queue full, paging,
 * deleting a device, and results the hub must ignore without an error.
 */
import t from 'tap';
import type { ApiErrorBody, AuditListResponse, CommandListResponse, CommandView } from '@iot-hub/protocol';
import { connectMqtt } from '../helpers/clients.js';
import { startTestHub } from '../helpers/hub.js';
import { commandInState, getCommand, postCommand, provisionDevice } from './test-device.js';

t.test('the request shape is checked: 400 with the reason', async (t) => {
  const hub = await startTestHub(t);
  const device = await provisionDevice(t, hub, 'mqtt', 'shape');
  await device.connect();
  await device.hello();
  const cases: [unknown, Record<string, string>, RegExp][] = [
    [{}, {}, /must have required property 'name'/],
    [{ name: 'identify', extra: 1 }, {}, /must NOT have additional properties/],
    [{ name: 'identify', params: [1] }, {}, /body\/params must be object/],
    [{ name: 'identify', timeoutMs: 99 }, {}, /body\/timeoutMs must be >= 100/],
    [{ name: 'identify', timeoutMs: 3_600_001 }, {}, /body\/timeoutMs must be <= 3600000/],
    [{ name: 'identify', timeoutMs: 1.5 }, {}, /body\/timeoutMs must be integer/],
    [{ name: 'identify', expiresAt: 'soon' }, {}, /body\/expiresAt must be integer/],
    [{ name: 'identify' }, { 'idempotency-key': 'x'.repeat(129) }, /idempotency-key must NOT have more than 128 characters/],
    [{ name: 'identify' }, { 'idempotency-key': 'tab\there' }, /idempotency-key must match pattern/],
  ];
  for (const [body, headers, message] of cases) {
    const res = await hub.api('POST', `/api/devices/${device.id}/commands`, body, headers);
    t.equal(res.status, 400, JSON.stringify(body));
    t.match(res.body as ApiErrorBody, { error: 'bad_request', code: 400, message }, JSON.stringify(body));
  }
  t.same(device.commands, [], 'nothing sent');
});

t.test('unknown device 404, no hello yet 409, expiresAt in the past 410, too many pending 429', async (t) => {
  const hub = await startTestHub(t, { maxPendingCommands: 2 });
  t.match(await postCommand(hub, 'ghost', { name: 'identify' }), { status: 404, body: { error: 'not_found', message: /no device "ghost"/ } });
  const { id: silent } = await hub.provision('silent');
  t.match(await postCommand(hub, silent, { name: 'identify' }), { status: 409, body: { error: 'commands_unknown', code: 409, message: /has not sent hello yet/ } });

  const device = await provisionDevice(t, hub, 'ws', 'busy');
  await device.connect();
  await device.hello();
  await device.disconnect();
  const past = Date.now() - 1;
  t.match(await postCommand(hub, device.id, { name: 'identify', expiresAt: past }), { status: 410, body: { error: 'command_expired', code: 410 } });
  const first = await postCommand(hub, device.id, { name: 'identify' });
  const second = await postCommand(hub, device.id, { name: 'identify' });
  t.same([first.status, second.status], [202, 202]);
  t.match(await postCommand(hub, device.id, { name: 'identify' }), { status: 429, body: { error: 'queue_full', code: 429, message: /2 commands of device "busy" have not ended \(limit 2\)/ } });
  t.equal((await hub.api('POST', `/api/commands/${first.body.id}/cancel`)).status, 200);
  t.equal((await postCommand(hub, device.id, { name: 'identify' })).status, 202, 'room again once one ended');
  const hello = await hub.api('GET', `/api/devices/${device.id}/commands`);
  t.equal((hello.body as CommandListResponse).commands.length, 3, 'refused ones were not stored');
});

t.test('reads: one command, 404s, pages newest first with an opaque cursor', async (t) => {
  const hub = await startTestHub(t);
  const device = await provisionDevice(t, hub, 'mqtt', 'pager');
  await device.connect();
  await device.hello();
  await device.disconnect();
  const ids: string[] = [];
  for (let i = 0; i < 7; i += 1) ids.push((await postCommand(hub, device.id, { name: 'boost', params: { minutes: 5 + i } })).body.id);

  const one = await getCommand(hub, ids[0] as string);
  t.match(one, { id: ids[0], deviceId: device.id, state: 'queued', params: { minutes: 5 } });
  t.match(await hub.api('GET', '/api/commands/cmd_unknown'), { status: 404, body: { error: 'not_found', message: /no command "cmd_unknown"/ } });
  t.match(await hub.api('GET', '/api/devices/ghost/commands'), { status: 404, body: { error: 'not_found' } });

  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query: string = cursor === null ? '?limit=3' : `?limit=3&before=${encodeURIComponent(cursor)}`;
    const page = (await hub.api('GET', `/api/devices/${device.id}/commands${query}`)).body as CommandListResponse;
    seen.push(...page.commands.map((c) => c.id));
    cursor = page.next;
    pages += 1;
  } while (cursor !== null && pages < 10);
  t.equal(pages, 3);
  t.same(seen, [...ids].reverse(), 'every command once, newest first');
  t.equal(((await hub.api('GET', `/api/devices/${device.id}/commands`)).body as CommandListResponse).commands.length, 7, 'default limit 50');

  for (const [query, message] of [
    ['limit=0', /limit must be an integer 1\.\.500/],
    ['limit=501', /limit must be an integer 1\.\.500/],
    ['limit=abc', /limit must be an integer/],
    ['before=garbage', /before must be the "next" of a previous page/],
  ] as const) {
    t.match(await hub.api('GET', `/api/devices/${device.id}/commands?${query}`), { status: 400, body: { error: 'bad_request', message } }, query);
  }
});

t.test('deleting a device ends its pending commands, then removes them', async (t) => {
  const hub = await startTestHub(t);
  const device = await provisionDevice(t, hub, 'mqtt', 'doomed');
  await device.connect();
  await device.hello();
  const sent = (await postCommand(hub, device.id, { name: 'identify' })).body;
  await device.waitForCommands(1);
  await device.disconnect();
  const queued = (await postCommand(hub, device.id, { name: 'identify' })).body;
  t.equal((await hub.api('DELETE', `/api/devices/${device.id}`)).status, 204);
  for (const id of [sent.id, queued.id]) t.equal((await hub.api('GET', `/api/commands/${id}`)).status, 404, 'gone with the device');
  const { entries } = (await hub.api('GET', `/api/audit?deviceId=${device.id}&action=command.create`)).body as AuditListResponse;
  t.same(entries.map((e) => e.outcome), ['cancelled', 'cancelled'], 'the audit log says how they ended');
});

t.test("results for unknown ids or another device's command are ignored without an error", async (t) => {
  const hub = await startTestHub(t);
  const owner = await provisionDevice(t, hub, 'mqtt', 'owner');
  await owner.connect();
  await owner.hello();
  const command = (await postCommand(hub, owner.id, { name: 'identify' })).body;
  await owner.waitForCommands(1);

  const other = await hub.provision('intruder');
  const client = await connectMqtt(t, hub, other.id, other.token);
  const errors: string[] = [];
  await client.subscribeAsync(`devices/${other.id}/errors`, { qos: 1 });
  client.on('message', (_topic, payload) => errors.push(payload.toString()));
  await client.publishAsync(`devices/${other.id}/results`, JSON.stringify({ id: command.id, status: 'succeeded' }), { qos: 1 });
  await client.publishAsync(`devices/${other.id}/results`, JSON.stringify({ id: 'cmd_never_issued', status: 'failed', error: 'x' }), { qos: 1 });
  await owner.result({ id: 'cmd_never_issued', status: 'succeeded' });

  const after: CommandView = await getCommand(hub, command.id);
  t.equal(after.state, 'sent', "another device's result does not touch it");
  t.notOk('late' in after);
  t.same(errors, [], 'no error to the sender');
  t.same(owner.errors, []);
  await owner.result({ id: command.id, status: 'succeeded' });
  await commandInState(hub, command.id, 'succeeded');
});

t.test('creating and cancelling are audited with the actor, the command id and what was asked', async (t) => {
  const hub = await startTestHub(t);
  const device = await provisionDevice(t, hub, 'ws', 'audited');
  await device.connect();
  await device.hello();
  const command = (await postCommand(hub, device.id, { name: 'boost', params: { minutes: 10 } }, { 'idempotency-key': 'a1' })).body;
  await postCommand(hub, device.id, { name: 'boost', params: { minutes: 10 } }, { 'idempotency-key': 'a1' });
  await postCommand(hub, device.id, { name: 'nope' });
  t.equal((await hub.api('POST', `/api/commands/${command.id}/cancel`)).status, 200);

  const { entries } = (await hub.api('GET', `/api/audit?deviceId=${device.id}`)).body as AuditListResponse;
  const commandEntries = entries.filter((e) => e.action.startsWith('command.'));
  t.match(commandEntries, [
    { action: 'command.cancel', actor: 'admin', deviceId: device.id, commandId: command.id, details: { name: 'boost' }, outcome: 'ok' },
    { action: 'command.create', actor: 'admin', deviceId: device.id, commandId: null, details: { name: 'nope', params: {} }, outcome: 'unknown_command' },
    { action: 'command.create', actor: 'admin', deviceId: device.id, commandId: command.id, details: { name: 'boost', params: { minutes: 10 } }, outcome: 'cancelled' },
  ]);
  t.equal(commandEntries.length, 3, 'one create, the refused one with its code (the retry adds none), and one cancel');
});
