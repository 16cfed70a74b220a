/**
 * A command that timed out, in a real browser against the real hub and a
 * device over MQTT that takes the command but answers only after the
 * hub's time limit: the timeline says the device may still carry it out,
 * and when the late answer arrives it says what the device did, live
 * (issue 22 item 10; FP-4.4 "Ending").
 */
import t from 'tap';
import type { CommandMessage, CommandView } from '@iot-hub/protocol';
import { connectMqtt } from '../../hub/test/helpers/clients.js';
import { startTestHub } from '../../hub/test/helpers/hub.js';
import { browserUnavailable, DIST, launchBrowser, UI_TIMEOUT, watchPage } from './helpers/browser.js';

const ID = 'e2e-late-plug';

if (browserUnavailable(t) === null) {
  t.test('a timed-out command: may still run, and a late answer shows what the device did', async (t) => {
    const hub = await startTestHub(t, { dashboardDir: DIST });
    const { token } = await hub.provision(ID, 'smart-plug');
    const device = await connectMqtt(t, hub, ID, token);
    const received: CommandMessage[] = [];
    device.on('message', (topic, payload) => {
      if (topic === `devices/${ID}/commands`) received.push(JSON.parse(payload.toString()) as CommandMessage);
    });
    await device.subscribeAsync(`devices/${ID}/commands`, { qos: 1 });
    await device.publishAsync(`devices/${ID}/hello`, JSON.stringify({ kind: 'smart-plug', commands: { turn_on: {} } }), { qos: 1 });

    const context = await launchBrowser(t);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    watchPage(page, pageErrors);
    await page.goto(`${hub.httpUrl}/#/devices/${ID}&token=${hub.adminToken}`);
    await page.locator('command-timeline').waitFor({ timeout: UI_TIMEOUT });

    // The device takes the command and stays silent past its 500 ms limit.
    const posted = await hub.api('POST', `/api/devices/${ID}/commands`, { name: 'turn_on', timeoutMs: 500 });
    t.equal(posted.status, 202);
    const id = (posted.body as CommandView).id;
    const item = page.locator(`command-timeline li[data-command-id="${id}"]`);
    await item.locator('[data-timed-out-note]').waitFor({ timeout: UI_TIMEOUT });
    t.equal(await item.getAttribute('data-state'), 'timed_out');
    t.match(await item.locator('[data-timed-out-note]').textContent(), /may still carry the command out/, 'the operator is told it may still run');
    t.strictSame(received.map((c) => c.id), [id], 'the device got the command');

    // It wakes and does it after all: the page says so, and the command stays timed out.
    await device.publishAsync(`devices/${ID}/results`, JSON.stringify({ id, status: 'succeeded' }), { qos: 1 });
    const late = item.locator('[data-late="succeeded"]');
    await late.waitFor({ timeout: UI_TIMEOUT });
    t.match(await late.textContent(), /^The device carried it out after all \(a late answer, \+[\d.]+ (ms|s) after the command was issued; the command stays "Timed out"\)\.$/);
    t.equal(await item.getAttribute('data-state'), 'timed_out', 'the outcome the hub recorded stays');
    t.strictSame(pageErrors, [], 'no page errors');
  });
}
