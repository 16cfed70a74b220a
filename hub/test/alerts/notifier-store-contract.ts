/**
 * The contract every notifier store keeps: SqliteNotifierStore (notify.db)
 * and the cluster's PgNotifierStore run these same tests: claimed
 * deliveries are leased, outcomes are counted on the notifier, dead letters
 * are kept newest first, the outbox of a notifier is capped, and deleting a
 * notifier takes its rows with it.
 */
import type { Test } from 'tap';
import { MAX_PENDING_PER_NOTIFIER, type AlertNotification } from '@iot-hub/protocol';
import type { NotifierRecord, NotifierStore } from '../../src/alerts/notify/notifier-store.js';

/** A fresh, empty, opened store for one test; null: its server is missing and the test was skipped. */
export type NotifierStoreFactory = (t: Test) => Promise<NotifierStore | null>;

export function notifierRecord(id: string): NotifierRecord {
  return { id, type: 'webhook', name: id, url: 'http://127.0.0.1:9/hook', secret: 'secret-0123456789abcdef', minSeverity: 'info', createdAt: 1, delivered: 0, deadLettered: 0, lastError: null };
}

export function notification(id: string, state: 'firing' | 'resolved' = 'firing', alertIds: string[] = ['a-1']): AlertNotification {
  return { id, ruleId: 'r', ruleName: 'R', severity: 'critical', state, ts: 1, alerts: alertIds.map((a) => ({ id: a, deviceId: a, value: null, summary: '', startedAt: 1, firedAt: 1, resolvedAt: null })) };
}

export const queue = (store: NotifierStore, id: string, notifierIds: string[], now = 1000, state: 'firing' | 'resolved' = 'firing') =>
  store.enqueue({ notification: notification(id, state), body: JSON.stringify(notification(id, state)), notifierIds }, now);

/** Queues `count` notifications n0… for one notifier, as `queue` would at now = 1000: a backend may do it in one statement. */
export type FillOutbox = (store: NotifierStore, notifierId: string, count: number) => Promise<void>;

const fillOneByOne: FillOutbox = async (store, notifierId, count) => {
  for (let i = 0; i < count; i += 1) await queue(store, `n${i}`, [notifierId]);
};

export function runNotifierStoreContract(t: Test, name: string, openStore: NotifierStoreFactory, fill: FillOutbox = fillOneByOne): void {
  t.test(`${name}: claims are leased; retry, delivery and dead letter are counted on the notifier`, async (t) => {
    const store = await openStore(t);
    if (!store) return;
    await store.create(notifierRecord('wh_a'));
    await queue(store, 'n1', ['wh_a']);
    await queue(store, 'n2', ['wh_a']);
    t.same(await store.nextDueAt(['wh_a']), 1000);

    const claimed = await store.claimDue('wh_a', 1000, 1, 20_000);
    t.same(claimed.map((d) => [d.notificationId, d.attempts]), [['n1', 0]], 'oldest first, as many as asked');
    t.same((await store.claimDue('wh_a', 1000, 5, 20_000)).map((d) => d.notificationId), ['n2'], 'a leased one is not claimed again');
    t.same(await store.claimDue('wh_a', 19_999, 5, 40_000), [], 'until its lease ends');
    t.equal(await store.nextDueAt(['wh_a']), 20_000);
    t.equal(await store.nextDueAt([]), null);

    await store.retryLater(claimed[0]!, 3000, 'HTTP 500', 2000);
    t.same(await store.pendingCounts(), new Map([['wh_a', { pending: 2, retrying: 1 }]]));
    const again = await store.claimDue('wh_a', 3000, 5, 30_000);
    t.same(again.map((d) => [d.notificationId, d.attempts, d.body]), [['n1', 1, JSON.stringify(notification('n1'))]]);
    await store.delivered(again[0]!);
    const n2 = (await store.claimDue('wh_a', 20_000, 5, 50_000))[0]!;
    await store.deadLetter(n2, 'HTTP 404', 21_000);

    t.match((await store.list())[0], { delivered: 1, deadLettered: 1, lastError: { at: 21_000, message: 'HTTP 404' } });
    t.same(await store.pendingCounts(), new Map());
    t.same(await store.deadLetters('wh_a', 10), [{ id: n2.id, notifierId: 'wh_a', notification: notification('n2'), attempts: 1, createdAt: 1000, deadAt: 21_000, lastError: 'HTTP 404' }]);
  });

  t.test(`${name}: notified firing alerts are remembered until resolved or forgotten`, async (t) => {
    const store = await openStore(t);
    if (!store) return;
    await store.enqueue({ notification: notification('f', 'firing', ['a-1', 'a-2', 'a-3']), body: '{}', notifierIds: [] }, 1);
    await store.enqueue({ notification: notification('r', 'resolved', ['a-1']), body: '{}', notifierIds: [] }, 2);
    await store.forgetFiring(['a-2']);
    t.same(await store.notifiedFiring(), ['a-3']);
  });

  t.test(`${name}: a notifier holds at most ${MAX_PENDING_PER_NOTIFIER} waiting deliveries; deleting it removes its rows`, async (t) => {
    const store = await openStore(t);
    if (!store) return;
    await store.create(notifierRecord('wh_full'));
    await store.create(notifierRecord('wh_other'));
    await fill(store, 'wh_full', MAX_PENDING_PER_NOTIFIER);
    t.same(await queue(store, 'one-more', ['wh_full', 'wh_other']), ['wh_full'], 'refused for the full notifier only');
    t.same(await store.pendingCounts(), new Map([['wh_full', { pending: MAX_PENDING_PER_NOTIFIER, retrying: 0 }], ['wh_other', { pending: 1, retrying: 0 }]]));
    t.match((await store.deadLetters('wh_full', 5))[0], { notification: { id: 'one-more' }, attempts: 0, lastError: `outbox full: ${MAX_PENDING_PER_NOTIFIER} deliveries already wait for this notifier` });
    t.match((await store.list()).find((n) => n.id === 'wh_full'), { deadLettered: 1 });

    t.equal(await store.remove('wh_full'), true);
    t.equal(await store.remove('wh_full'), false);
    t.same(await store.pendingCounts(), new Map([['wh_other', { pending: 1, retrying: 0 }]]));
    t.same((await store.claimDue('wh_other', 1000, 5, 9000)).map((d) => d.notificationId), ['one-more'], 'the shared notification body stays for the other notifier');
  });
}
