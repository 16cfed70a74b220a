/**
 * The contract every command service keeps towards the API, the gateway
 * and the EventBus. CommandService (SQLite) and PgCommandService
 * (PostgreSQL) run it through their factories: one service, opened, on an
 * empty store, closed at the test's teardown.
 */
import type { Test } from 'tap';
import pino from 'pino';
import type { CommandState } from '@iot-hub/protocol';
import { EventBus } from '../../src/events/event-bus.js';
import type { DeviceLink } from '../../src/core/device-link.js';
import type { Commands, DeviceLookup } from '../../src/commands/commands.js';
import { eventually } from '../helpers/clients.js';
import { CommandEvents, Links, TestDevices, refused, resultMessage } from './command-fixtures.js';

export interface ServiceSetup {
  registry: DeviceLookup;
  events: EventBus;
  linkOf: (deviceId: string) => DeviceLink | undefined;
  defaultTimeoutMs: number;
  defaultExpiryMs: number;
  maxPendingPerDevice: number;
  log: pino.Logger;
}

export type ServiceFactory = (t: Test, setup: ServiceSetup) => Promise<Commands>;

const NONE: Record<CommandState, number> = { queued: 0, sent: 0, acknowledged: 0, succeeded: 0, failed: 0, timed_out: 0, expired: 0, cancelled: 0 };

async function start(t: Test, make: ServiceFactory, maxPendingPerDevice = 5) {
  const devices = new TestDevices().add('d1').add('d2').add('quiet', { hello: false }).add('tiny', { maxMessageBytes: 60 });
  const events = new EventBus();
  const links = new Links();
  const seen = new CommandEvents(events);
  const service = await make(t, {
    registry: devices,
    events,
    linkOf: links.linkOf,
    defaultTimeoutMs: 30_000,
    defaultExpiryMs: 3_600_000,
    maxPendingPerDevice,
    log: pino({ level: 'silent' }),
  });
  const state = async (id: string): Promise<CommandState | undefined> => (await service.get(id))?.state;
  const reaches = (id: string, wanted: CommandState, timeoutMs = 5_000) => eventually(async () => (await state(id)) === wanted, timeoutMs, `command ${id} ${wanted}`);
  return { service, events, links, seen, state, reaches };
}

export function commandServiceContract(t: Test, name: string, make: ServiceFactory): void {
  t.test(`${name}: a command for a connected device is sent at once and ends with the device's result`, async (t) => {
    const { service, links, seen } = await start(t, make);
    const link = links.connect('d1');
    const { command, created } = await service.create('d1', { name: 'boost', params: { minutes: 30 } }, { actor: 'alice' });
    t.equal(created, true);
    t.match(command.id, /^cmd_[0-9A-HJKMNP-TV-Z]{26}$/);
    t.equal(command.state, 'sent');
    t.equal(command.deliveries, 1);
    t.equal(command.issuedBy, 'alice');
    t.same(link.commands, [{ v: 1, type: 'command', id: command.id, name: 'boost', params: { minutes: 30 }, expiresAt: command.expiresAt }]);
    await service.result('d1', resultMessage(command.id, 'acknowledged'), Date.now());
    await service.result('d1', resultMessage(command.id, 'succeeded', { result: { on: true } }), Date.now());
    const done = await service.get(command.id);
    t.equal(done?.state, 'succeeded');
    t.same(done?.result, { on: true });
    t.same(done?.transitions.map((s) => s.state), ['queued', 'sent', 'acknowledged', 'succeeded']);
    t.same(seen.states(command.id), ['queued', 'sent', 'acknowledged', 'succeeded'], 'each transition announced once');
    t.same(await service.countByState(), { ...NONE, succeeded: 1 });
    t.same(Object.fromEntries(service.resultCounts), { 'applied:acknowledged': 1, 'applied:succeeded': 1 });
    await service.result('d1', resultMessage(command.id, 'succeeded', { result: { on: true } }), Date.now());
    t.equal(service.resultCounts.get('duplicate:succeeded'), 1, 'a repeated final result changes nothing');
    t.same(seen.states(command.id).length, 4);
  });

  t.test(`${name}: an offline device gets its queued commands in creation order when it connects; reconnects resend with the same id`, async (t) => {
    const { service, links, seen } = await start(t, make);
    const a = (await service.create('d1', { name: 'boost', params: { minutes: 10 } }, { actor: 'alice' })).command;
    const b = (await service.create('d1', { name: 'identify' }, { actor: 'alice' })).command;
    t.equal(a.state, 'queued');
    t.equal(b.state, 'queued');
    t.equal(b.params && Object.keys(b.params).length, 0, 'params default to {}');
    const first = links.connect('d1');
    void service.deviceReady('d1', first);
    await eventually(() => first.commands.length === 2, 5_000, 'two commands delivered');
    t.same(first.commands.map((c) => c.id), [a.id, b.id], 'creation order');
    await eventually(async () => (await service.get(b.id))?.state === 'sent', 5_000, 'b sent');
    await service.result('d1', resultMessage(a.id, 'acknowledged'), Date.now());
    const second = links.connect('d1');
    void service.deviceReady('d1', second);
    await eventually(() => second.commands.length === 2, 5_000, 'resent on the new connection');
    t.same(second.commands.map((c) => c.id), [a.id, b.id], 'sent and acknowledged ones go again with the same id');
    await eventually(async () => (await service.get(b.id))?.deliveries === 2, 5_000, 'deliveries counted');
    const again = await service.get(a.id);
    t.equal(again?.state, 'acknowledged');
    t.equal(again?.deliveries, 2);
    t.same(seen.states(a.id), ['queued', 'sent', 'acknowledged', 'acknowledged'], 'a redelivery is announced (deliveries changed), not a new transition');
  });

  t.test(`${name}: a repeated idempotency key returns the first command; another body with it is a conflict`, async (t) => {
    const { service, seen } = await start(t, make);
    const first = await service.create('d1', { name: 'boost', params: { minutes: 30 } }, { actor: 'alice', idempotencyKey: 'k1' });
    t.equal(first.created, true);
    t.equal(first.command.idempotencyKey, 'k1');
    const again = await service.create('d1', { name: 'boost', params: { minutes: 30 } }, { actor: 'bob', idempotencyKey: 'k1' });
    t.equal(again.created, false);
    t.same(again.command, first.command, 'the first command, as it is');
    await refused(t, service.create('d1', { name: 'boost', params: { minutes: 31 } }, { actor: 'alice', idempotencyKey: 'k1' }), 'idempotency_conflict');
    const other = await service.create('d2', { name: 'boost', params: { minutes: 30 } }, { actor: 'alice', idempotencyKey: 'k1' });
    t.equal(other.created, true, 'keys are per device');
    t.same(seen.seen.map((e) => e.state), ['queued', 'queued'], 'a retry announces nothing');
    t.same((await service.list('d1', { limit: 10 })).commands.map((c) => c.id), [first.command.id]);
  });

  t.test(`${name}: the pending cap refuses more, and frees up when one ends`, async (t) => {
    const { service } = await start(t, make, 2);
    const a = (await service.create('d1', { name: 'identify' }, { actor: 'alice' })).command;
    await service.create('d1', { name: 'identify' }, { actor: 'alice' });
    await refused(t, service.create('d1', { name: 'identify' }, { actor: 'alice' }), 'queue_full', '2 commands of device "d1" have not ended (limit 2): wait, or cancel some');
    t.equal((await service.create('d2', { name: 'identify' }, { actor: 'alice' })).created, true, 'the cap is per device');
    await service.cancel(a.id, 'alice');
    t.equal((await service.create('d1', { name: 'identify' }, { actor: 'alice' })).created, true);
    t.same(await service.countByState(), { ...NONE, queued: 3, cancelled: 1 });
  });

  t.test(`${name}: refused requests store nothing`, async (t) => {
    const { service, seen } = await start(t, make);
    await refused(t, service.create('ghost', { name: 'identify' }, { actor: 'a' }), 'not_found');
    await refused(t, service.create('quiet', { name: 'identify' }, { actor: 'a' }), 'commands_unknown');
    await refused(t, service.create('d1', { name: 'reboot' }, { actor: 'a' }), 'unknown_command', '"reboot": device "d1" declares boost, identify');
    await refused(t, service.create('d1', { name: 'boost', params: { minutes: 1 } }, { actor: 'a' }), 'invalid_params');
    await refused(t, service.create('d1', { name: 'identify', expiresAt: Date.now() - 1 }, { actor: 'a' }), 'command_expired');
    await refused(t, service.create('tiny', { name: 'identify' }, { actor: 'a' }), 'too_large_for_device');
    t.same(await service.countByState(), NONE);
    t.same(seen.seen, []);
  });

  t.test(`${name}: cancel ends a pending command once; an ended one is command_finished`, async (t) => {
    const { service, seen } = await start(t, make);
    const { command } = await service.create('d1', { name: 'identify' }, { actor: 'alice' });
    const cancelled = await service.cancel(command.id, 'bob');
    t.equal(cancelled.state, 'cancelled');
    t.equal(cancelled.error, 'cancelled by bob');
    await refused(t, service.cancel(command.id, 'bob'), 'command_finished', `command ${command.id} ended cancelled`);
    await refused(t, service.cancel('cmd_nope', 'bob'), 'not_found');
    t.same(seen.states(command.id), ['queued', 'cancelled']);
    t.equal((await service.get(command.id))?.state, 'cancelled');
  });

  t.test(`${name}: a sent command with no answer times out; a result after that is kept as late`, async (t) => {
    const { service, links, seen, reaches } = await start(t, make);
    links.connect('d1');
    const { command } = await service.create('d1', { name: 'identify', timeoutMs: 150 }, { actor: 'alice' });
    t.equal(command.state, 'sent');
    await reaches(command.id, 'timed_out');
    const ended = await service.get(command.id);
    t.equal(ended?.error, 'the device neither acknowledged nor answered within 150 ms of the first delivery');
    await service.result('d1', resultMessage(command.id, 'succeeded', { result: 1 }), 5);
    await service.result('d1', resultMessage(command.id, 'succeeded', { result: 1 }), 6);
    const late = await service.get(command.id);
    t.equal(late?.state, 'timed_out', 'a late result changes nothing');
    t.same(late?.late, [{ status: 'succeeded', at: 5, result: 1 }], 'kept once');
    t.same(seen.states(command.id), ['queued', 'sent', 'timed_out', 'timed_out'], 'the late result announced once, its repeat not');
    t.same(Object.fromEntries(service.resultCounts), { 'late:succeeded': 1, 'duplicate:succeeded': 1 });
  });

  t.test(`${name}: a command still queued at expiresAt expires; results for unknown or other devices' commands are ignored`, async (t) => {
    const { service, seen, reaches } = await start(t, make);
    const { command } = await service.create('d1', { name: 'identify', expiresAt: Date.now() + 150 }, { actor: 'alice' });
    await reaches(command.id, 'expired');
    t.match((await service.get(command.id))?.error, /^not delivered before expiresAt .*: the device did not connect in time$/);
    t.same(seen.states(command.id), ['queued', 'expired']);
    const other = (await service.create('d1', { name: 'identify' }, { actor: 'alice' })).command;
    await service.result('d2', resultMessage(other.id, 'succeeded'), Date.now());
    await service.result('d1', resultMessage('cmd_unknown', 'succeeded'), Date.now());
    t.equal((await service.get(other.id))?.state, 'queued');
    t.equal(service.resultCounts.get('ignored:succeeded'), 2);
  });

  t.test(`${name}: pages are newest first with an opaque cursor`, async (t) => {
    const { service } = await start(t, make, 10);
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push((await service.create('d1', { name: 'identify' }, { actor: 'a' })).command.id);
    const first = await service.list('d1', { limit: 2 });
    t.same(first.commands.map((c) => c.id), [ids[4], ids[3]]);
    t.type(first.next, 'string');
    const second = await service.list('d1', { limit: 2, before: first.next ?? '' });
    t.same(second.commands.map((c) => c.id), [ids[2], ids[1]]);
    const last = await service.list('d1', { limit: 2, before: second.next ?? '' });
    t.same(last.commands.map((c) => c.id), [ids[0]]);
    t.equal(last.next, null);
    await refused(t, service.list('d1', { limit: 2, before: 'nonsense' }), 'bad_request');
    t.same(await service.list('d2', { limit: 2 }), { commands: [], next: null });
  });

  t.test(`${name}: a deleted device's pending commands end cancelled, then all its commands and keys go`, async (t) => {
    const { service, events, seen } = await start(t, make);
    const pending = (await service.create('d1', { name: 'identify' }, { actor: 'a', idempotencyKey: 'k' })).command;
    const ended = (await service.create('d1', { name: 'identify' }, { actor: 'a' })).command;
    await service.cancel(ended.id, 'a');
    const kept = (await service.create('d2', { name: 'identify' }, { actor: 'a' })).command;
    events.emit('deviceRemoved', { deviceId: 'd1' });
    await eventually(async () => (await service.get(ended.id)) === undefined && (await service.get(pending.id)) === undefined, 5_000, 'commands of d1 gone');
    t.same(seen.states(pending.id), ['queued', 'cancelled']);
    t.equal(seen.states(ended.id).length, 2, 'an ended one is not announced again');
    t.equal((await service.get(kept.id))?.state, 'queued', 'other devices keep theirs');
    const fresh = await service.create('d1', { name: 'boost', params: { minutes: 5 } }, { actor: 'a', idempotencyKey: 'k' });
    t.equal(fresh.created, true, 'the key is free again');
    t.same(await service.countByState(), { ...NONE, queued: 2 });
  });
}
