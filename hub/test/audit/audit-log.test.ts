/**
 * The audit log on its own: appending, filters, pages, command outcomes
 * from `command` events, retention, persistence.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProtocolError, type AuditEntry, type CommandState, type CommandView } from '@iot-hub/protocol';
import { AuditLog, type AuditLogOptions } from '../../src/audit/audit-log.js';
import { EventBus } from '../../src/core/events.js';
import { createLogger } from '../../src/log.js';

async function openLog(t: Test, options: Partial<AuditLogOptions> = {}, dir?: string): Promise<{ audit: AuditLog; events: EventBus; dir: string }> {
  const dataDir = dir ?? mkdtempSync(join(tmpdir(), 'iot-hub-audit-'));
  if (!dir) t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const events = new EventBus();
  const audit = new AuditLog({ file: join(dataDir, 'control.db'), events, log: createLogger('silent'), ...options });
  await audit.open();
  t.teardown(() => audit.close());
  return { audit, events, dir: dataDir };
}

function command(id: string, state: CommandState): CommandView {
  return {
    id,
    deviceId: 'plug-1',
    name: 'toggle',
    params: {},
    state,
    transitions: [{ state, at: 1 }],
    createdAt: 1,
    updatedAt: 1,
    timeoutMs: 30_000,
    expiresAt: 3_600_000,
    deliveries: 0,
    issuedBy: 'admin',
  };
}

function outcomes(entries: AuditEntry[]): Record<string, string | null> {
  return Object.fromEntries(entries.map((e) => [`${e.action} ${e.commandId}`, e.outcome]));
}

t.test('record returns the stored entry; list is newest first with every field', async (t) => {
  const { audit } = await openLog(t);
  const a = audit.record({ actor: 'admin', action: 'device.create', deviceId: 'plug-1', details: { kind: 'plug' }, outcome: 'ok' }, 1000);
  const b = audit.record({ actor: 'admin', action: 'command.create', deviceId: 'plug-1', commandId: 'cmd_1', details: { name: 'toggle', params: {} } }, 2000);
  t.same(a, { id: 1, ts: 1000, actor: 'admin', action: 'device.create', deviceId: 'plug-1', commandId: null, details: { kind: 'plug' }, outcome: 'ok' });
  t.same(b, { id: 2, ts: 2000, actor: 'admin', action: 'command.create', deviceId: 'plug-1', commandId: 'cmd_1', details: { name: 'toggle', params: {} }, outcome: null });
  t.same(audit.list({ limit: 100 }), { entries: [b, a], next: null });
});

t.test('command.create gets the final state of its command as outcome; other entries and other states do not', async (t) => {
  const { audit, events } = await openLog(t);
  audit.record({ actor: 'admin', action: 'command.create', deviceId: 'plug-1', commandId: 'cmd_ok', details: {} });
  audit.record({ actor: 'admin', action: 'command.create', deviceId: 'plug-1', commandId: 'cmd_slow', details: {} });
  audit.record({ actor: 'admin', action: 'command.create', deviceId: 'plug-1', commandId: 'cmd_x', details: {} });
  audit.record({ actor: 'admin', action: 'command.cancel', deviceId: 'plug-1', commandId: 'cmd_x', details: {}, outcome: 'ok' });

  for (const state of ['queued', 'sent', 'acknowledged'] as const) events.emit('command', { command: command('cmd_slow', state) });
  events.emit('command', { command: command('cmd_ok', 'sent') });
  events.emit('command', { command: command('cmd_ok', 'succeeded') });
  events.emit('command', { command: command('cmd_x', 'cancelled') });
  // A final state arrives once; a second (impossible, but harmless) one does not overwrite it.
  events.emit('command', { command: command('cmd_ok', 'failed') });

  t.same(outcomes(audit.list({ limit: 100 }).entries), {
    'command.cancel cmd_x': 'ok',
    'command.create cmd_x': 'cancelled',
    'command.create cmd_slow': null,
    'command.create cmd_ok': 'succeeded',
  });
  for (const state of ['failed', 'timed_out', 'expired'] as const) {
    audit.record({ actor: 'admin', action: 'command.create', deviceId: 'plug-1', commandId: `cmd_${state}`, details: {} });
    events.emit('command', { command: command(`cmd_${state}`, state) });
  }
  t.same(
    audit.list({ limit: 3 }).entries.map((e) => e.outcome),
    ['expired', 'timed_out', 'failed'],
  );
});

t.test('a command.create recorded after its command already ended gets the outcome at once', async (t) => {
  const { audit, events } = await openLog(t);
  events.emit('command', { command: command('cmd_fast', 'expired') });
  const entry = audit.record({ actor: 'admin', action: 'command.create', deviceId: 'plug-1', commandId: 'cmd_fast', details: {} });
  t.equal(entry?.outcome, 'expired');
});

t.test('filters by device, actor, action and time; pages with an opaque cursor', async (t) => {
  const { audit } = await openLog(t);
  for (let i = 0; i < 25; i += 1) {
    audit.record({ actor: i % 2 ? 'alice' : 'bob', action: i % 5 === 0 ? 'device.create' : 'state.desired', deviceId: `d${i % 3}`, details: { i }, outcome: 'ok' }, 1000 + i);
  }
  const is = (entries: AuditEntry[]) => entries.map((e) => e.details.i);
  t.same(is(audit.list({ limit: 100, deviceId: 'd1' }).entries), [22, 19, 16, 13, 10, 7, 4, 1]);
  t.same(is(audit.list({ limit: 100, actor: 'alice', action: 'device.create' }).entries), [15, 5]);
  t.same(is(audit.list({ limit: 100, from: 1010, to: 1012 }).entries), [12, 11, 10], 'from and to are inclusive');

  const seen: unknown[] = [];
  let page = audit.list({ limit: 10, action: 'state.desired' });
  let pages = 1;
  seen.push(...is(page.entries));
  while (page.next !== null) {
    t.notMatch(page.next, /^\d+$/, 'the cursor is not a bare id');
    page = audit.list({ limit: 10, action: 'state.desired', before: page.next });
    seen.push(...is(page.entries));
    pages += 1;
  }
  t.equal(pages, 2);
  t.same(seen, [24, 23, 22, 21, 19, 18, 17, 16, 14, 13, 12, 11, 9, 8, 7, 6, 4, 3, 2, 1], 'every entry once, newest first');
  t.same(audit.list({ limit: 20, action: 'state.desired' }).next, null, 'an exact last page has no next');

  for (const bad of ['', '5', 'a1.', 'a1.!!!', 'a1.' + Buffer.from('0').toString('base64url'), 'a1.' + Buffer.from('x').toString('base64url')]) {
    t.throws(() => audit.list({ limit: 10, before: bad }), new ProtocolError('bad_request', `before must be the "next" of a previous page, got ${JSON.stringify(bad)}`), JSON.stringify(bad));
  }
});

t.test('bounded: keeps the newest maxEntries, pruning every pruneEvery entries; ids keep growing', async (t) => {
  const { audit } = await openLog(t, { maxEntries: 10, pruneEvery: 5 });
  for (let i = 1; i <= 33; i += 1) audit.record({ actor: 'admin', action: 'device.create', deviceId: `d${i}`, details: {}, outcome: 'ok' });
  const ids = audit.list({ limit: 1000 }).entries.map((e) => e.id);
  t.same(ids, Array.from({ length: 13 }, (_, i) => 33 - i), 'pruned at 30 to the newest 10, then 3 more');
  const next = audit.record({ actor: 'admin', action: 'device.create', deviceId: 'd34', details: {}, outcome: 'ok' });
  t.equal(next?.id, 34);
  await audit.close();
  await audit.open();
  t.equal(audit.list({ limit: 1000 }).entries.length, 10, 'opening prunes too');
});

t.test('entries survive a reopen; a closed log records nothing and says so by returning null', async (t) => {
  const { audit, dir } = await openLog(t);
  audit.record({ actor: 'admin', action: 'device.delete', deviceId: 'gone', details: { kind: 'plug' }, outcome: 'ok' }, 5);
  await audit.close();
  t.equal(audit.record({ actor: 'admin', action: 'device.delete', deviceId: 'x', details: {} }), null);
  const { audit: again } = await openLog(t, {}, dir);
  t.same(again.list({ limit: 10 }).entries, [{ id: 1, ts: 5, actor: 'admin', action: 'device.delete', deviceId: 'gone', commandId: null, details: { kind: 'plug' }, outcome: 'ok' }]);
});

t.test('the log stops listening to command events when closed', async (t) => {
  const { audit, events, dir } = await openLog(t);
  audit.record({ actor: 'admin', action: 'command.create', deviceId: 'plug-1', commandId: 'cmd_1', details: {} });
  await audit.close();
  events.emit('command', { command: command('cmd_1', 'succeeded') });
  const { audit: again } = await openLog(t, {}, dir);
  t.equal(again.list({ limit: 1 }).entries[0]?.outcome, null);
});
