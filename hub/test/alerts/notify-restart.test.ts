/** The outbox is durable: a delivery pending at a stop resumes after the restart, and a delivered one is never sent again. */
import t from 'tap';
import { startTestHub } from '../helpers/hub.js';
import { createWebhook, fire, notifierView, sleep, startReceiver, waitUntil } from './notify-fixtures.js';

t.test('a delivery pending at stop is delivered once after the restart, and never again after the next', async (t) => {
  let up = false;
  const receiver = await startReceiver(t, () => (up ? 200 : 500));
  let hub = await startTestHub(t);
  const created = await createWebhook(hub, receiver.url);
  fire(hub, 'pump-stopped', ['pump-1']);
  await receiver.waitFor(1);
  await waitUntil('the retry is recorded', async () => (await notifierView(hub, created.id)).retrying === 1);
  await hub.stop();

  up = true;
  const failedBefore = receiver.requests.length;
  hub = await hub.restart();
  await receiver.waitFor(1, 15_000, (r) => r.status === 200);
  await waitUntil('the delivery is recorded', async () => (await notifierView(hub, created.id)).delivered === 1);
  await sleep(1500);
  t.equal(receiver.delivered().length, 1, 'delivered once');
  t.equal(receiver.delivered()[0]!.notification.id, receiver.requests[0]!.notification.id, 'the notification queued before the restart');
  t.ok(failedBefore >= 1, 'it had failed before the stop');
  t.match(await notifierView(hub, created.id), { delivered: 1, retrying: 0, deadLettered: 0 });

  const seen = receiver.requests.length;
  hub = await hub.restart();
  await sleep(2000);
  t.equal(receiver.requests.length, seen, 'nothing is sent again after another restart');
});
