/**
 * The overview brings trouble to the top (issue 22, defect 2), in Chromium
 * against the real hub: a sort by presence puts offline devices first, one
 * by battery the lowest first, both kept in the URL; offline rows and rows
 * of devices quiet past their declared heartbeat are marked at a glance;
 * Messages/s falls to 0 soon after every device stopped (defect 14).
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { MqttDevice, SimulatedDevice, SmartPlug, silentLogger } from '@iot-hub/device-sim';
import { connectMqtt } from '../../hub/test/helpers/clients.js';
import { startTestHub } from '../../hub/test/helpers/hub.js';
import { browserUnavailable, DIST, launchBrowser, UI_TIMEOUT, watchPage } from './helpers/browser.js';

async function until(predicate: () => Promise<boolean>, what: string, timeoutMs = UI_TIMEOUT): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The ids of the rendered rows, in order. */
function rowIds(page: Page): Promise<string[]> {
  return page.locator('device-list li.row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-device-id') ?? ''));
}

if (browserUnavailable(t) === null) {
  t.test('a sort brings trouble to the top, and rows signal offline and quiet devices', async (t) => {
    const hub = await startTestHub(t, { dashboardDir: DIST });
    // Never connected: offline.
    await hub.provision('never-seen', 'sensor');
    // Online and talking every 400 ms.
    const { token: plugToken } = await hub.provision('live-plug', 'smart-plug');
    const plug = new SimulatedDevice({ model: new SmartPlug({ seed: 1 }), connection: new MqttDevice({ url: hub.mqttUrl, id: 'live-plug', token: plugToken }), intervalMs: 400, log: silentLogger });
    await plug.start();
    t.teardown(() => plug.stop());
    // Connected, declares a 5 s heartbeat, reports a low battery once, then falls silent.
    const { token: quietToken } = await hub.provision('quiet-sensor', 'sensor');
    const quiet = await connectMqtt(t, hub, 'quiet-sensor', quietToken);
    await quiet.publishAsync('devices/quiet-sensor/hello', JSON.stringify({ kind: 'sensor', heartbeatSec: 5, metrics: { battery: { type: 'number', unit: '%' } } }), { qos: 1 });
    await quiet.publishAsync('devices/quiet-sensor/telemetry', JSON.stringify({ metrics: { battery: 15 } }), { qos: 1 });
    const silentSince = Date.now();
    // Connected without declaring anything, with a healthy battery.
    const { token: battToken } = await hub.provision('batt-sensor', 'sensor');
    const batt = await connectMqtt(t, hub, 'batt-sensor', battToken);
    await batt.publishAsync('devices/batt-sensor/telemetry', JSON.stringify({ metrics: { battery: 80 } }), { qos: 1 });

    const context = await launchBrowser(t);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    watchPage(page, pageErrors);
    await page.goto(`${hub.httpUrl}/#/?sort=presence&token=${hub.adminToken}`);
    await page.locator('device-list ul.rows[aria-label="Devices (4 of 4)"]').waitFor({ timeout: UI_TIMEOUT });
    await page.locator('device-list li[data-device-id="live-plug"] [data-presence="online"]').waitFor({ timeout: UI_TIMEOUT });
    t.equal(await page.locator('device-list select#sort').inputValue(), 'presence', 'the sort from the link');
    t.strictSame(await rowIds(page), ['never-seen', 'batt-sensor', 'live-plug', 'quiet-sensor'], 'offline first, then online by name');
    t.equal(await page.locator('device-list li[data-device-id="never-seen"]').getAttribute('data-signal'), 'offline', 'the offline row is marked');
    t.equal(await page.locator('device-list li[data-device-id="live-plug"]').getAttribute('data-signal'), null, 'a healthy row is not');

    // Past its declared heartbeat, still online at the hub: quiet, at a glance.
    const quietRow = page.locator('device-list li[data-device-id="quiet-sensor"]');
    await quietRow.locator('[data-signal-text]', { hasText: 'quiet: past its heartbeat' }).waitFor({ timeout: 5_000 + UI_TIMEOUT });
    t.ok(Date.now() - silentSince > 5_000, 'only after the heartbeat');
    t.equal(await quietRow.getAttribute('data-signal'), 'quiet');
    t.equal(await quietRow.locator('[data-presence]').getAttribute('data-presence'), 'online', 'while the hub still has it online');

    // Battery: lowest first, devices without one last; the URL follows.
    await page.locator('device-list select#sort').selectOption('battery');
    await until(async () => (await rowIds(page))[0] === 'quiet-sensor', 'the battery order');
    t.strictSame(await rowIds(page), ['quiet-sensor', 'batt-sensor', 'live-plug', 'never-seen']);
    t.equal(new URL(page.url()).hash, '#/?sort=battery');

    // Messages/s follows the fleet: the plug's 2.5/s, then 0 within a few seconds of it stopping (defect 14).
    const rate = page.locator('hub-app [data-count="rate"] dd');
    await until(async () => Number(await rate.textContent()) >= 1, 'a rate while the plug talks');
    await plug.stop();
    await rate.filter({ hasText: /^\s*0\.0\s*$/ }).waitFor({ timeout: 6_000 });
    t.pass('the rate fell to 0 with no event to trigger a render');
    t.strictSame(pageErrors, [], 'no errors in the page');
  });
}
