/**
 * Webhook delivery against a real local receiver: retried with backoff until
 * it recovers and then delivered exactly once; dead-lettered, counted,
 * listed and logged when it never does. The secret shows in no answer and
 * no log.
 */
import t from 'tap';
import type { DeadLetterListResponse } from '@iot-hub/protocol';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { createWebhook, fire, notifierView, signatureValid, sleep, startReceiver, waitUntil } from './notify-fixtures.js';

function logCapture(): { stream: { write(line: string): void }; text: () => string; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const text = (): string => chunks.join('');
  return {
    stream: { write: (line: string) => void chunks.push(line) },
    text,
    lines: () => text().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}


async function metricLines(hub: TestHub, prefix: string): Promise<string[]> {
  const text = await (await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } })).text();
  return text.split('\n').filter((l) => l.startsWith(prefix));
}

const SECRET = 'a-signing-secret-nobody-may-see-0123456789';

t.test('a receiver that fails twice and recovers gets the notification exactly once, with the same body and signature', async (t) => {
  const log = logCapture();
  const hub = await startTestHub(t, { logLevel: 'debug' }, undefined, { logDestination: log.stream });
  const receiver = await startReceiver(t, (n) => (n < 2 ? 500 : 200));
  const created = await createWebhook(hub, receiver.url, { secret: SECRET });
  t.equal(created.secret, SECRET, 'the secret is answered at creation, once');

  fire(hub, 'freezer-warm', ['freezer-1']);
  await receiver.waitFor(3, 15_000);
  await waitUntil('the delivery is recorded', async () => (await notifierView(hub, created.id)).delivered === 1);
  await sleep(1500);
  t.same(receiver.requests.map((r) => r.status), [500, 500, 200], 'two failures, then one delivery, then nothing');
  const [first] = receiver.requests;
  for (const r of receiver.requests) {
    t.equal(r.body, first!.body, 'every attempt carries the same bytes');
    t.equal(r.headers['x-hub-notification-id'], first!.notification.id, 'and the same id, for the receiver to drop repeats');
    t.ok(signatureValid(SECRET, r.body, r.headers['x-hub-signature-256']), 'signed');
  }
  const view = await notifierView(hub, created.id);
  t.match(view, { delivered: 1, deadLettered: 0, retrying: 0, lastError: { message: 'HTTP 500' } });
  t.same(await metricLines(hub, `iot_hub_notifier_deliveries_total{notifier="${created.id}"`), [
    `iot_hub_notifier_deliveries_total{notifier="${created.id}",outcome="delivered"} 1`,
    `iot_hub_notifier_deliveries_total{notifier="${created.id}",outcome="retried"} 2`,
    `iot_hub_notifier_deliveries_total{notifier="${created.id}",outcome="dead_lettered"} 0`,
  ]);
  t.same(await metricLines(hub, 'iot_hub_notify_outbox_deliveries '), ['iot_hub_notify_outbox_deliveries 0']);
  t.same(await metricLines(hub, 'iot_hub_alert_mqtt_publishes_total '), ['iot_hub_alert_mqtt_publishes_total 1']);

  const retryLine = log.lines().find((l) => l.msg === 'webhook delivery failed: retrying with backoff');
  t.match(retryLine, { level: 40, notifierId: created.id, notifier: 'ops', target: new URL(receiver.url).origin, error: 'HTTP 500', attempts: 1 }, 'the failure is logged, with the origin only');
  t.notMatch(JSON.stringify((await hub.api('GET', '/api/notifiers')).body), SECRET, 'GET never shows the secret');
  t.notOk(log.text().includes(SECRET), 'no log line carries the secret');
  t.notOk(log.text().includes('/hooks/alerts'), 'nor the URL path (it can hold a token)');
});

t.test('a receiver that never recovers: dead-lettered after --webhook-max-attempts, counted, listed and logged', async (t) => {
  const log = logCapture();
  const hub = await startTestHub(t, { webhookMaxAttempts: 3, logLevel: 'info' }, undefined, { logDestination: log.stream });
  const receiver = await startReceiver(t, () => 503);
  const created = await createWebhook(hub, receiver.url);

  const [alert] = fire(hub, 'door-open', ['door-1'], { severity: 'warning' });
  await receiver.waitFor(3, 15_000);
  await waitUntil('the dead letter', async () => (await notifierView(hub, created.id)).deadLettered === 1);
  await sleep(1500);
  t.equal(receiver.requests.length, 3, 'three attempts, no fourth');
  t.match(await notifierView(hub, created.id), { delivered: 0, deadLettered: 1, retrying: 0, lastError: { message: 'HTTP 503' } });

  const dead = (await hub.api('GET', `/api/notifiers/${created.id}/dead-letters`)).body as DeadLetterListResponse;
  t.equal(dead.deadLetters.length, 1);
  t.match(dead.deadLetters[0], { notifierId: created.id, attempts: 3, lastError: 'HTTP 503', notification: receiver.requests[0]!.notification });
  t.equal(dead.deadLetters[0]!.notification.alerts[0]!.id, alert!.id);
  t.notMatch(JSON.stringify(dead), created.secret, 'the dead letters do not show the secret');
  t.same(await metricLines(hub, `iot_hub_notifier_deliveries_total{notifier="${created.id}",outcome="dead_lettered"}`), [
    `iot_hub_notifier_deliveries_total{notifier="${created.id}",outcome="dead_lettered"} 1`,
  ]);
  const deadLine = log.lines().find((l) => l.msg === 'webhook delivery failed for good: dead-lettered (GET /api/notifiers/:id/dead-letters)');
  t.match(deadLine, { level: 40, notifierId: created.id, attempts: 3, error: 'HTTP 503' });
  t.notOk(log.text().includes(created.secret), 'no log line carries the generated secret');

  t.equal((await hub.api('GET', '/api/notifiers/wh_nothing/dead-letters')).status, 404, 'dead letters of an unknown notifier: 404');
});
