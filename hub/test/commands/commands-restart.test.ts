/**
 * Every command ends across a hub restart ([G4]): a queued command
 * is delivered after the restart, one whose timeout passed while the hub was
 * down ends timed_out at start, and idempotency keys are still honoured.
 */
import t from 'tap';
import type { CommandView } from '@iot-hub/protocol';
import { TRANSPORTS, attachDevice, getCommand, postCommand, provisionDevice } from './test-device.js';
import { startTestHub } from '../helpers/hub.js';

/** Long enough for a hub to stop on a busy machine before it runs out. */
const TIMEOUT_MS = 1500;

for (const transport of TRANSPORTS) {
  t.test(`${transport}: after a restart queued commands are delivered and overdue ones end timed_out`, async (t) => {
    const first = await startTestHub(t);
    const device = await provisionDevice(t, first, transport, `keep-${transport}`);
    await device.connect();
    await device.hello();
    const overdue = (await postCommand(first, device.id, { name: 'identify', timeoutMs: TIMEOUT_MS })).body;
    await device.waitForCommands(1);
    await device.disconnect();
    const queued = (await postCommand(first, device.id, { name: 'boost', params: { minutes: 20 } }, { 'idempotency-key': 'k1' })).body;
    t.equal(queued.state, 'queued');
    // Stop before the timeout runs out, start again after: it passes while the hub is down.
    const sentAt = overdue.transitions[1]?.at ?? 0;
    await first.stop();
    t.ok(Date.now() - sentAt < TIMEOUT_MS, 'stopped in time (else this test proves nothing)');
    await new Promise((r) => setTimeout(r, Math.max(0, sentAt + TIMEOUT_MS + 50 - Date.now())));

    const second = await first.restart();
    const ended: CommandView = await getCommand(second, overdue.id);
    t.match(ended, { state: 'timed_out', error: /neither acknowledged nor answered within 1500 ms of the first delivery/ });
    t.same(ended.transitions.map((s) => s.state), ['queued', 'sent', 'timed_out']);
    t.match(await getCommand(second, queued.id), { state: 'queued', deliveries: 0 });

    const retry = await postCommand(second, device.id, { name: 'boost', params: { minutes: 20 } }, { 'idempotency-key': 'k1' });
    t.match(retry, { status: 200, body: { id: queued.id } }, 'the idempotency key survived the restart');

    const reborn = attachDevice(t, second, transport, device.id, device.token);
    await reborn.connect();
    const received = await reborn.waitForCommands(1);
    t.same(received.map((c) => c.id), [queued.id], 'only the queued one, not the ended one');
    await reborn.result({ id: queued.id, status: 'succeeded' });
    t.match(await getCommand(second, queued.id), { state: 'succeeded', deliveries: 1 });
    await second.stop();
  });
}
