/**
 * DELETE /api/devices/{id} removes the device and everything keyed by it
 * (docs/api.md): commands, idempotency keys, desired and reported state,
 * telemetry. A device provisioned again under the same id starts empty and
 * owes nothing to its predecessor; only the audit log remembers.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import type { AuditListResponse, CommandListResponse, CommandView, DeviceStateView, DeviceView, HistoryResponse } from '@iot-hub/protocol';
import { startTestHub, type TestHub } from '../../helpers/hub.js';
import { attachDevice, postCommand, provisionDevice } from '../../commands/test-device.js';

async function get<T>(hub: TestHub, path: string): Promise<T> {
  const res = await hub.api('GET', path);
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as T;
}

t.test('a device deleted and provisioned again under its id inherits no commands, keys, state or telemetry', async (t) => {
  const hub = await startTestHub(t);
  const old = await provisionDevice(t, hub, 'mqtt', 'plug-1');
  await old.connect();
  await old.hello();
  await old.telemetry({ power: 42 });
  const first = await postCommand(hub, 'plug-1', { name: 'identify' }, { 'idempotency-key': 'turn-on-1' });
  t.equal(first.status, 202);
  await old.waitForCommands(1);
  t.equal((await hub.api('POST', `/api/commands/${first.body.id}/cancel`)).status, 200);
  t.equal((await hub.api('PATCH', '/api/devices/plug-1/state/desired', { state: { on: true } })).status, 200);
  await old.disconnect();

  t.equal((await hub.api('DELETE', '/api/devices/plug-1')).status, 204);
  t.same(await hub.api('GET', `/api/commands/${first.body.id}`), { status: 404, body: { error: 'not_found', code: 404, message: `not found: no command ${JSON.stringify(first.body.id)}` } }, 'the old command is gone by id');

  const { token } = await hub.provision('plug-1', 'plug');
  const fresh = attachDevice(t, hub, 'mqtt', 'plug-1', token);
  await fresh.connect();
  await fresh.hello();

  t.same(await get<CommandListResponse>(hub, '/api/devices/plug-1/commands'), { commands: [], next: null }, 'no commands of the old device');
  const state = await get<DeviceStateView>(hub, '/api/devices/plug-1/state');
  t.same([state.desired, state.reported, state.version], [{}, {}, 0], 'no desired or reported state of the old device');
  const history = await get<HistoryResponse>(hub, '/api/devices/plug-1/telemetry?from=0');
  t.same(history.series, [], 'no telemetry of the old device');
  t.same((await get<DeviceView>(hub, '/api/devices/plug-1')).latest, {}, 'no latest values of the old device');

  const again = await postCommand(hub, 'plug-1', { name: 'identify' }, { 'idempotency-key': 'turn-on-1' });
  t.equal(again.status, 202, "the old device's idempotency key is not honoured: a new command");
  t.not(again.body.id, first.body.id);
  t.equal(again.body.state, 'sent');
  const received = await fresh.waitForCommands(1);
  t.same(received.map((c) => c.id), [again.body.id], 'and it runs on the new device');
  const listed = await get<CommandListResponse>(hub, '/api/devices/plug-1/commands');
  t.same(listed.commands.map((c: CommandView) => c.id), [again.body.id]);

  const audit = await get<AuditListResponse>(hub, '/api/audit?deviceId=plug-1&action=command.create');
  t.same(audit.entries.map((e) => [e.commandId, e.outcome]), [[again.body.id, null], [first.body.id, 'cancelled']], 'the audit log keeps the old device’s entries');
});

t.test('commands left by a deletion cut short (a crash after the registry row went) are removed at the next start', async (t) => {
  const hub = await startTestHub(t);
  const d = await provisionDevice(t, hub, 'ws', 'gone-1');
  await d.connect();
  await d.hello();
  const queued = await postCommand(hub, 'gone-1', { name: 'identify' }, { 'idempotency-key': 'k' });
  await d.disconnect();
  await hub.stop();
  // What a crash between the registry's delete and the commands' leaves: the device gone, its commands not.
  const registry = new Database(join(hub.dataDir, 'registry.db'));
  const removed = registry.prepare('DELETE FROM devices WHERE id = ?').run('gone-1').changes;
  registry.close();
  t.equal(removed, 1);

  const next = await hub.restart();
  t.equal((await next.api('GET', `/api/commands/${queued.body.id}`)).status, 404, 'removed at start');
  const { token } = await next.provision('gone-1', 'thermostat');
  const fresh = attachDevice(t, next, 'ws', 'gone-1', token);
  await fresh.connect();
  await fresh.hello();
  t.same(await get<CommandListResponse>(next, '/api/devices/gone-1/commands'), { commands: [], next: null });
  t.equal((await postCommand(next, 'gone-1', { name: 'identify' }, { 'idempotency-key': 'k' })).status, 202, 'the key is free');
});
