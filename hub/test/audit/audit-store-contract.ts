/**
 * The audit log's behaviour over any store (SQLite, PostgreSQL): appending,
 * filters, pages, command outcomes from `command` events, retention,
 * persistence. Each implementation's test file runs it with its backing.
 */
import type { Test } from 'tap';
import { ProtocolError, type AuditEntry, type CommandState, type CommandView } from '@iot-hub/protocol';
import type { AuditLog, AuditLogSettings } from '../../src/audit/audit-log.js';
import type { EventBus } from '../../src/events/event-bus.js';

export interface OpenedAudit {
  audit: AuditLog<unknown>;
  events: EventBus;
}

/** Where one test's entries live: every open() gives a new, opened AuditLog on the same entries (closed at teardown). */
export interface AuditBacking {
  open(options?: Partial<Pick<AuditLogSettings, 'maxEntries' | 'pruneEvery'>>): Promise<OpenedAudit>;
}

/** A fresh, empty backing for one test (ids start at 1); null when the engine is missing (skipped). */
export type AuditBackingFactory = (t: Test) => Promise<AuditBacking | null>;

export function command(id: string, state: CommandState): CommandView {
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

/** Outcomes are written from an event handler, not awaited by anyone: wait until the store shows them. */
async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200 && !(await check()); i += 1) await new Promise((r) => setTimeout(r, 10));
}

export function auditStoreContract(tap: Test, backingFor: AuditBackingFactory): void {
  const open = async (t: Test, options: Partial<Pick<AuditLogSettings, 'maxEntries' | 'pruneEvery'>> = {}) => {
    const backing = await backingFor(t);
    if (!backing) return null;
    return { backing, ...(await backing.open(options)) };
  };

  tap.test('record returns the stored entry; list is newest first with every field', async (t) => {
    const o = await open(t);
    if (!o) return;
    const a = await o.audit.record({ actor: 'admin', action: 'device.create', deviceId: 'plug-1', details: { kind: 'plug' }, outcome: 'ok' }, 1000);
    const b = await o.audit.record({ actor: 'admin', action: 'command.create', deviceId: 'plug-1', commandId: 'cmd_1', details: { name: 'toggle', params: {} } }, 2000);
    t.same(a, { id: 1, ts: 1000, actor: 'admin', action: 'device.create', deviceId: 'plug-1', commandId: null, details: { kind: 'plug' }, outcome: 'ok' });
    t.same(b, { id: 2, ts: 2000, actor: 'admin', action: 'command.create', deviceId: 'plug-1', commandId: 'cmd_1', details: { name: 'toggle', params: {} }, outcome: null });
    t.same(await o.audit.list({ limit: 100 }), { entries: [b, a], next: null });
  });

  tap.test('details keep any JSON, a U+0000 and a __proto__ key included', async (t) => {
    const o = await open(t);
    if (!o) return;
    const details = JSON.parse('{"state":{"__proto__":"a\\u0000b","n":1.5,"ok":true,"none":null}}') as Record<string, unknown>;
    await o.audit.record({ actor: 'admin', action: 'state.desired', deviceId: 'plug-1', details, outcome: 'ok' }, 7);
    const [entry] = (await o.audit.list({ limit: 1 })).entries;
    t.equal(JSON.stringify(entry?.details), JSON.stringify(details));
  });

  tap.test('command.create gets the final state of its command as outcome; other entries and other states do not', async (t) => {
    const o = await open(t);
    if (!o) return;
    const { audit, events } = o;
    await audit.record({ actor: 'admin', action: 'command.create', deviceId: 'plug-1', commandId: 'cmd_ok', details: {} });
    await audit.record({ actor: 'admin', action: 'command.create', deviceId: 'plug-1', commandId: 'cmd_slow', details: {} });
    await audit.record({ actor: 'admin', action: 'command.create', deviceId: 'plug-1', commandId: 'cmd_x', details: {} });
    await audit.record({ actor: 'admin', action: 'command.cancel', deviceId: 'plug-1', commandId: 'cmd_x', details: {}, outcome: 'ok' });

    for (const state of ['queued', 'sent', 'acknowledged'] as const) events.emit('command', { command: command('cmd_slow', state) });
    events.emit('command', { command: command('cmd_ok', 'sent') });
    events.emit('command', { command: command('cmd_ok', 'succeeded') });
    events.emit('command', { command: command('cmd_x', 'cancelled') });
    const expected = {
      'command.cancel cmd_x': 'ok',
      'command.create cmd_x': 'cancelled',
      'command.create cmd_slow': null,
      'command.create cmd_ok': 'succeeded',
    };
    await until(async () => JSON.stringify(outcomes((await audit.list({ limit: 100 })).entries)) === JSON.stringify(expected));
    // A final state is written once; a second (impossible, but harmless) one does not overwrite it.
    events.emit('command', { command: command('cmd_ok', 'failed') });
    await new Promise((r) => setTimeout(r, 50));
    t.same(outcomes((await audit.list({ limit: 100 })).entries), expected);
    for (const state of ['failed', 'timed_out', 'expired'] as const) {
      await audit.record({ actor: 'admin', action: 'command.create', deviceId: 'plug-1', commandId: `cmd_${state}`, details: {} });
      events.emit('command', { command: command(`cmd_${state}`, state) });
    }
    await until(async () => (await audit.list({ limit: 3 })).entries.every((e) => e.outcome !== null));
    t.same(
      (await audit.list({ limit: 3 })).entries.map((e) => e.outcome),
      ['expired', 'timed_out', 'failed'],
    );
  });

  tap.test('a command.create recorded after its command already ended gets the outcome at once', async (t) => {
    const o = await open(t);
    if (!o) return;
    o.events.emit('command', { command: command('cmd_fast', 'expired') });
    const entry = await o.audit.record({ actor: 'admin', action: 'command.create', deviceId: 'plug-1', commandId: 'cmd_fast', details: {} });
    t.equal(entry?.outcome, 'expired');
  });

  tap.test('filters by device, actor, action and time; pages with an opaque cursor', async (t) => {
    const o = await open(t);
    if (!o) return;
    const { audit } = o;
    for (let i = 0; i < 25; i += 1) {
      await audit.record({ actor: i % 2 ? 'alice' : 'bob', action: i % 5 === 0 ? 'device.create' : 'state.desired', deviceId: `d${i % 3}`, details: { i }, outcome: 'ok' }, 1000 + i);
    }
    const is = (entries: AuditEntry[]) => entries.map((e) => e.details.i);
    t.same(is((await audit.list({ limit: 100, deviceId: 'd1' })).entries), [22, 19, 16, 13, 10, 7, 4, 1]);
    t.same(is((await audit.list({ limit: 100, actor: 'alice', action: 'device.create' })).entries), [15, 5]);
    t.same(is((await audit.list({ limit: 100, from: 1010, to: 1012 })).entries), [12, 11, 10], 'from and to are inclusive');
    t.same(is((await audit.list({ limit: 100, deviceId: 'd1\u0000' })).entries), [], 'a filter with U+0000 finds nothing, and is no error');

    const seen: unknown[] = [];
    let page = await audit.list({ limit: 10, action: 'state.desired' });
    let pages = 1;
    seen.push(...is(page.entries));
    while (page.next !== null) {
      t.notMatch(page.next, /^\d+$/, 'the cursor is not a bare id');
      page = await audit.list({ limit: 10, action: 'state.desired', before: page.next });
      seen.push(...is(page.entries));
      pages += 1;
    }
    t.equal(pages, 2);
    t.same(seen, [24, 23, 22, 21, 19, 18, 17, 16, 14, 13, 12, 11, 9, 8, 7, 6, 4, 3, 2, 1], 'every entry once, newest first');
    t.same((await audit.list({ limit: 20, action: 'state.desired' })).next, null, 'an exact last page has no next');

    for (const bad of ['', '5', 'a1.', 'a1.!!!', 'a1.' + Buffer.from('0').toString('base64url'), 'a1.' + Buffer.from('x').toString('base64url')]) {
      await t.rejects(audit.list({ limit: 10, before: bad }), new ProtocolError('bad_request', `before must be the "next" of a previous page, got ${JSON.stringify(bad)}`), JSON.stringify(bad));
    }
  });

  tap.test('bounded: keeps the newest maxEntries, pruning every pruneEvery entries; ids keep growing', async (t) => {
    const o = await open(t, { maxEntries: 10, pruneEvery: 5 });
    if (!o) return;
    const { audit } = o;
    for (let i = 1; i <= 33; i += 1) await audit.record({ actor: 'admin', action: 'device.create', deviceId: `d${i}`, details: {}, outcome: 'ok' });
    const ids = (await audit.list({ limit: 1000 })).entries.map((e) => e.id);
    t.same(ids, Array.from({ length: 13 }, (_, i) => 33 - i), 'pruned at 30 to the newest 10, then 3 more');
    const next = await audit.record({ actor: 'admin', action: 'device.create', deviceId: 'd34', details: {}, outcome: 'ok' });
    t.equal(next?.id, 34);
    await audit.close();
    await audit.open();
    t.equal((await audit.list({ limit: 1000 })).entries.length, 10, 'opening prunes too');
  });

  tap.test('entries survive a reopen; a closed log records nothing and says so by resolving null', async (t) => {
    const o = await open(t);
    if (!o) return;
    await o.audit.record({ actor: 'admin', action: 'device.delete', deviceId: 'gone', details: { kind: 'plug' }, outcome: 'ok' }, 5);
    await o.audit.close();
    t.equal(await o.audit.record({ actor: 'admin', action: 'device.delete', deviceId: 'x', details: {} }), null);
    const again = await o.backing.open();
    t.same((await again.audit.list({ limit: 10 })).entries, [{ id: 1, ts: 5, actor: 'admin', action: 'device.delete', deviceId: 'gone', commandId: null, details: { kind: 'plug' }, outcome: 'ok' }]);
  });

  tap.test('the log stops listening to command events when closed', async (t) => {
    const o = await open(t);
    if (!o) return;
    await o.audit.record({ actor: 'admin', action: 'command.create', deviceId: 'plug-1', commandId: 'cmd_1', details: {} });
    await o.audit.close();
    o.events.emit('command', { command: command('cmd_1', 'succeeded') });
    await new Promise((r) => setTimeout(r, 50));
    const again = await o.backing.open();
    t.equal((await again.audit.list({ limit: 1 })).entries[0]?.outcome, null);
  });
}
