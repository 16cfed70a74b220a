/**
 * The contract every rule and alert store keeps: SqliteAlertStore
 * (alerts.db) and the cluster's PgAlertStore run these same tests. A second
 * open() of a backend is the same data seen again: a restart, or another node.
 */
import type { Test } from 'tap';
import type { AlertRule, AlertView, SilenceView } from '@iot-hub/protocol';
import { ALERT_LIMITS } from '../../src/alerts/alert-limits.js';
import type { AlertStore, HistoryInput, RuleStore } from '../../src/alerts/alert-store.js';

export type AnyAlertStore = RuleStore & AlertStore;

export interface AlertStoreBackend {
  open(): Promise<AnyAlertStore>;
}

/** null: the backend's server is missing and the test was skipped (failed under CI). */
export type AlertStoreBackendFactory = (t: Test) => Promise<AlertStoreBackend | null>;

export function rule(id: string, version = 1, name = `rule ${id}`): AlertRule {
  return {
    id,
    name,
    description: 'hot {device}',
    severity: 'warning',
    enabled: true,
    scope: { type: 'all' },
    condition: { type: 'above', metric: 'temp', value: 30 },
    forSec: 0,
    minFiringSec: 0,
    actions: [],
    actionIntervalSec: 60,
    builtin: null,
    createdAt: 1_000,
    updatedAt: 1_000 + version,
    version,
  };
}

export function alert(ruleId: string, deviceId: string, over: Partial<AlertView> = {}): AlertView {
  return {
    id: `a-${ruleId}-${deviceId}`,
    ruleId,
    ruleName: `rule ${ruleId}`,
    deviceId,
    severity: 'warning',
    state: 'firing',
    startedAt: 10_000,
    firedAt: 10_000,
    resolvedAt: null,
    since: 10_000,
    value: 31.5,
    summary: `hot ${deviceId}`,
    acknowledged: null,
    silencedUntil: null,
    ...over,
  };
}

function entry(a: AlertView, to: HistoryInput['to'], ts: number, actor: string | null = null): HistoryInput {
  return { alertId: a.id, ruleId: a.ruleId, deviceId: a.deviceId, severity: a.severity, to, ts, value: a.value, summary: a.summary, actor };
}

function silence(id: string, until: number): SilenceView {
  return { id, ruleId: 'r1', until, note: 'maintenance', createdBy: 'olga', createdAt: 5 };
}

export function runAlertStoreContract(t: Test, name: string, backend: AlertStoreBackendFactory): void {
  async function opened(t: Test): Promise<{ store: AnyAlertStore; again: () => Promise<AnyAlertStore> } | null> {
    const b = await backend(t);
    if (!b) return null;
    return { store: await b.open(), again: () => b.open() };
  }

  t.test(`${name}: rules are inserted, replaced at the next version only, deleted, and seen again after a reopen`, async (t) => {
    const b = await opened(t);
    if (!b) return;
    const { store } = b;
    await store.insertRule(rule('r2'));
    await store.insertRule(rule('r1'));
    t.equal(await store.countRules(), 2);
    t.same((await store.listRules()).map((r) => r.id), ['r1', 'r2'], 'ordered by id');
    t.equal(await store.replaceRule(rule('r1', 3, 'skipped a version')), false, 'version 3 over version 1 is refused');
    t.equal(await store.replaceRule(rule('r1', 2, 'renamed')), true);
    t.equal(await store.replaceRule(rule('r1', 2, 'again')), false, 'a second writer of version 2 loses');
    t.equal(await store.replaceRule(rule('gone', 2)), false, 'no such rule');
    t.same(await store.getRule('r1'), rule('r1', 2, 'renamed'));
    t.equal(await store.getRule('nope'), undefined);
    t.equal(await store.deleteRule('r2'), true);
    t.equal(await store.deleteRule('r2'), false, 'deleted twice: false');
    const again = await b.again();
    t.same(await again.listRules(), [rule('r1', 2, 'renamed')]);
    t.equal(await again.countRules(), 1);
  });

  t.test(`${name}: one current alert per (rule, device); open ones are found again, filtered and forgotten`, async (t) => {
    const b = await opened(t);
    if (!b) return;
    const { store } = b;
    const pending = alert('r1', 'd1', { state: 'pending', firedAt: null, since: 1 });
    await store.saveAlert(pending, entry(pending, 'pending', 1));
    const firing = alert('r1', 'd1', { since: 2 });
    await store.saveAlert(firing, entry(firing, 'firing', 2));
    const other = alert('r2', 'd1', { id: 'a-other', severity: 'critical', since: 3 });
    await store.saveAlert(other, null);
    const resolved = alert('r1', 'd2', { state: 'resolved', resolvedAt: 4, since: 4 });
    await store.saveAlert(resolved, null);
    const again = await b.again();
    t.same(
      (await again.openAlerts()).sort((x, y) => x.id.localeCompare(y.id)),
      [other, firing].sort((x, y) => x.id.localeCompare(y.id)),
      'the pending alert became the firing one; resolved is not open',
    );
    t.same(await again.listAlerts({}), [other, firing], 'not resolved, newest transition first');
    t.same(await again.listAlerts({ state: 'resolved' }), [resolved]);
    t.same(await again.listAlerts({ severity: 'critical' }), [other]);
    t.same(await again.listAlerts({ ruleId: 'r1' }), [firing]);
    t.same(await again.listAlerts({ deviceId: 'd2', state: 'resolved' }), [resolved]);
    t.same(await again.listAlerts({ deviceId: 'd\0' }), [], 'a filter no id holds finds nothing');
    t.same(await again.getAlert('a-other'), other);
    t.equal(await again.getAlert('nope'), undefined);
    await again.deleteAlerts({ ruleId: 'r2' });
    t.same(await again.listAlerts({}), [firing]);
    await again.deleteAlerts({ deviceId: 'd1' });
    t.same(await again.listAlerts({}), []);
    t.equal((await again.history({ limit: 10 })).length, 2, 'history stays when alerts are forgotten');
  });

  t.test(`${name}: history is newest first, filtered, and paged by id`, async (t) => {
    const b = await opened(t);
    if (!b) return;
    const { store } = b;
    const a1 = alert('r1', 'd1');
    const a2 = alert('r2', 'd2', { value: { nested: [1, 'x'] } as unknown as number });
    await store.appendHistory(entry(a1, 'pending', 100));
    await store.appendHistory(entry(a1, 'firing', 200));
    await store.appendHistory(entry(a2, 'firing', 300));
    await store.appendHistory(entry(a1, 'acknowledged', 400, 'olga'));
    await store.appendHistory({ ...entry(a2, 'resolved', 500), value: null });
    const all = await store.history({ limit: 10 });
    t.same(all.map((e) => [e.to, e.ts]), [['resolved', 500], ['acknowledged', 400], ['firing', 300], ['firing', 200], ['pending', 100]]);
    t.ok(all.every((e, i) => i === 0 || e.id < all[i - 1]!.id), 'ids fall down the page');
    t.same(all[1], { id: all[1]!.id, alertId: a1.id, ruleId: 'r1', deviceId: 'd1', severity: 'warning', to: 'acknowledged', ts: 400, value: 31.5, summary: 'hot d1', actor: 'olga' });
    t.same(all[2]!.value, { nested: [1, 'x'] }, 'a value round-trips as JSON');
    t.equal(all[0]!.value, null);
    t.same((await store.history({ deviceId: 'd1', limit: 10 })).map((e) => e.ts), [400, 200, 100]);
    t.same((await store.history({ ruleId: 'r2', limit: 10 })).map((e) => e.ts), [500, 300]);
    t.same((await store.history({ state: 'firing', limit: 10 })).map((e) => e.ts), [300, 200]);
    t.same((await store.history({ from: 200, to: 400, limit: 10 })).map((e) => e.ts), [400, 300, 200]);
    const page1 = await store.history({ limit: 2 });
    const page2 = await store.history({ limit: 2, beforeId: page1[1]!.id });
    t.same([...page1, ...page2].map((e) => e.ts), [500, 400, 300, 200]);
  });

  t.test(`${name}: silences are stored, listed by end, deleted once, and pruned when ended`, async (t) => {
    const b = await opened(t);
    if (!b) return;
    const { store } = b;
    await store.insertSilence(silence('s-late', 9_000));
    await store.insertSilence(silence('s-early', 2_000));
    t.same(await (await b.again()).listSilences(), [silence('s-early', 2_000), silence('s-late', 9_000)]);
    t.equal(await store.deleteSilence('s-late'), true);
    t.equal(await store.deleteSilence('s-late'), false);
    await store.insertSilence(silence('s-late2', 9_000));
    await store.prune(5_000);
    t.same(await store.listSilences(), [silence('s-late2', 9_000)], 'the silence that ended is gone');
  });

  t.test(`${name}: prune drops old history and resolved alerts past their bounds, keeps open ones`, async (t) => {
    const b = await opened(t);
    if (!b) return;
    const { store } = b;
    const now = ALERT_LIMITS.maxHistoryAgeMs + 10 * ALERT_LIMITS.resolvedKeepMs;
    const old = alert('r1', 'd1', { state: 'resolved', since: now - ALERT_LIMITS.resolvedKeepMs - 1 });
    const recent = alert('r1', 'd2', { state: 'resolved', since: now - ALERT_LIMITS.resolvedKeepMs + 1 });
    const open = alert('r1', 'd3', { state: 'firing', since: 1 });
    for (const a of [old, recent, open]) await store.saveAlert(a, null);
    await store.appendHistory(entry(open, 'firing', now - ALERT_LIMITS.maxHistoryAgeMs - 1));
    await store.appendHistory(entry(open, 'firing', now - ALERT_LIMITS.maxHistoryAgeMs + 1));
    await store.prune(now);
    t.same((await store.listAlerts({ state: 'resolved' })).map((a) => a.deviceId), ['d2']);
    t.same(await store.openAlerts(), [open], 'an open alert is never pruned, however old');
    t.same((await store.history({ limit: 10 })).map((e) => e.ts), [now - ALERT_LIMITS.maxHistoryAgeMs + 1]);
  });
}
