/**
 * The dashboard in a real browser against the real hub: Chromium (driven by
 * playwright-core) opens the page the hub serves, a device connects over
 * MQTT and publishes, and the page must show it online with the value.
 */
import t from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { Page } from 'playwright-core';
import { provisionDevices } from '@iot-hub/device-sim';
import { startTestHub } from '../../hub/test/helpers/hub.js';
import { ARTIFACTS, browserUnavailable, DIST, launchBrowser, UI_TIMEOUT, watchPage } from './helpers/browser.js';

if (browserUnavailable(t) === null) {
  t.test('the dashboard shows a device going online with its telemetry, live', async (t) => {
    const hub = await startTestHub(t, { dashboardDir: DIST });
    const context = await launchBrowser(t);
    const pageErrors: string[] = [];
    let page = await context.newPage();
    watchPage(page, pageErrors);

    // 1. Not signed in: the form asks for a username and password, or (demo, break-glass) the admin token; a wrong token is refused with a message.
    await page.goto(`${hub.httpUrl}/`);
    const usernameInput = page.locator('token-form input#username');
    await usernameInput.waitFor({ timeout: UI_TIMEOUT });
    await page.locator('token-form button', { hasText: 'Use an admin token instead' }).click();
    const tokenInput = page.locator('token-form input#token');
    await tokenInput.waitFor({ timeout: UI_TIMEOUT });
    await tokenInput.fill('not-the-admin-token');
    await page.locator('token-form button[type="submit"]').click();
    const refusal = page.locator('token-form [role="alert"]');
    await refusal.waitFor({ timeout: UI_TIMEOUT });
    t.match(await refusal.textContent(), /did not accept this token/, 'a wrong token brings the form back with the reason');
    t.equal(await savedToken(page), null, 'the refused token is not kept');

    // 2. A `#token=` link opened in the same tab changes only the fragment (no reload).
    await page.goto(`${hub.httpUrl}/#token=${hub.adminToken}`);
    await page.locator('connection-badge [data-status="live"]').waitFor({ timeout: UI_TIMEOUT });
    t.pass('a fragment change signs in too');
    const empty = page.locator('device-list .empty');
    await empty.waitFor({ timeout: UI_TIMEOUT });
    t.match(await empty.textContent(), /No devices yet: provision one with POST \/api\/devices or run the simulator/);

    t.equal(await page.locator('hub-app [data-user]').textContent(), 'admin (admin)', 'the header names who is signed in');

    // "Sign out" forgets the token and asks again.
    await page.locator('hub-app button', { hasText: 'Sign out' }).click();
    await usernameInput.waitFor({ timeout: UI_TIMEOUT });
    t.equal(await savedToken(page), null, 'signing out forgets the token');

    // A viewer signs in with a password: the session cookie carries the API and the live socket.
    t.equal((await hub.api('POST', '/api/users', { username: 'vera', password: 'vera-password', role: 'viewer' })).status, 201);
    await usernameInput.fill('vera');
    await page.locator('token-form input#password').fill('wrong-password');
    await page.locator('token-form button[type="submit"]').click();
    await page.locator('token-form [role="alert"]', { hasText: 'Wrong username or password' }).waitFor({ timeout: UI_TIMEOUT });
    await page.locator('token-form input#password').fill('vera-password');
    await page.locator('token-form button[type="submit"]').click();
    await page.locator('connection-badge [data-status="live"]').waitFor({ timeout: UI_TIMEOUT });
    t.equal(await page.locator('hub-app [data-user]').textContent(), 'vera (viewer)');
    t.equal(await savedToken(page), null, 'nothing in localStorage: the cookie is HttpOnly');
    await page.reload();
    await page.locator('connection-badge [data-status="live"]').waitFor({ timeout: UI_TIMEOUT });
    t.pass('a reload resumes the session');

    // A viewer sees a device's controls but cannot use them.
    const plug = await hub.provision('e2e-viewer-plug', 'smart-plug');
    const plugClient = await mqtt.connectAsync(hub.mqttUrl, { clientId: plug.id, username: plug.id, password: plug.token, reconnectPeriod: 0, connectTimeout: 5_000 });
    await plugClient.publishAsync(`devices/${plug.id}/hello`, JSON.stringify({ kind: 'smart-plug', commands: { identify: {}, set_level: { params: { level: { type: 'integer', min: 0, max: 10, required: true } } } } }), { qos: 1 });
    await page.goto(`${hub.httpUrl}/#/devices/${plug.id}`);
    await page.locator('device-controls .read-only').waitFor({ timeout: UI_TIMEOUT });
    t.equal(await page.locator('device-controls fieldset.controls-set').evaluate((el) => (el as unknown as { disabled: boolean }).disabled), true, 'the controls are disabled for a viewer');
    t.ok((await page.locator('device-controls button').count()) > 0, 'the controls are shown');
    t.equal(await page.locator('device-controls button:enabled, device-controls input:enabled, device-controls select:enabled').count(), 0, 'none of them is usable');
    // Nor can a viewer change desired state: Set… and Remove are there, disabled, with the reason.
    await plugClient.publishAsync(`devices/${plug.id}/state`, JSON.stringify({ state: { on: true } }), { qos: 1 });
    t.equal((await hub.api('PATCH', `/api/devices/${plug.id}/state/desired`, { state: { on: false } })).status, 200);
    await page.locator('state-table .read-only').waitFor({ timeout: UI_TIMEOUT });
    await page.locator('state-table tr[data-key="on"] button', { hasText: 'Remove' }).waitFor({ timeout: UI_TIMEOUT });
    t.ok((await page.locator('state-table tr[data-key="on"] button').count()) >= 2, 'Set… and Remove are shown');
    t.equal(await page.locator('state-table button:enabled').count(), 0, 'neither is usable');
    await plugClient.endAsync(true);
    t.equal((await hub.api('DELETE', `/api/devices/${plug.id}`)).status, 204);
    await page.goto(`${hub.httpUrl}/#/`);

    await page.locator('hub-app button', { hasText: 'Sign out' }).click();
    await usernameInput.waitFor({ timeout: UI_TIMEOUT });
    await page.reload();
    await usernameInput.waitFor({ timeout: UI_TIMEOUT });
    t.pass('signed out on the hub too');
    await page.close();

    // 3. A fresh page load with the token in the fragment: saved, stripped from the address bar.
    const device = await hub.provision('e2e-thermostat-1', 'thermostat');
    page = await context.newPage();
    watchPage(page, pageErrors);
    await page.goto(`${hub.httpUrl}/#token=${hub.adminToken}`);
    await page.locator('connection-badge [data-status="live"]').waitFor({ timeout: UI_TIMEOUT });
    t.notMatch(page.url(), /token=/, 'the token is gone from the address bar');
    t.equal(await savedToken(page), hub.adminToken, 'and kept in localStorage');

    // 4. The provisioned device is listed, not online yet.
    const row = page.locator(`device-list li[data-device-id="${device.id}"]`);
    await row.waitFor({ timeout: UI_TIMEOUT });
    const presence = await row.locator('[data-presence]').getAttribute('data-presence');
    t.match(presence, /^(offline|unknown)$/, `listed as offline or unknown before it connects (got ${presence})`);
    t.equal(await countOf(page, 'total'), '1');
    t.equal(await countOf(page, 'online'), '0');

    // 5. The device connects over MQTT and publishes one reading (QoS 1).
    const client = await mqtt.connectAsync(hub.mqttUrl, {
      clientId: device.id,
      username: device.id,
      password: device.token,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
    });
    t.teardown(() => client.endAsync(true));
    await client.publishAsync(`devices/${device.id}/telemetry`, JSON.stringify({ metrics: { temperature: 21.5 } }), { qos: 1 });

    // 6. The page shows it, pushed over the dashboard socket (no reload).
    await row.locator('[data-presence="online"]').waitFor({ timeout: UI_TIMEOUT });
    await row.locator('[data-metric="temperature"]', { hasText: '21.5' }).waitFor({ timeout: UI_TIMEOUT });
    t.pass('the row shows online and 21.5');
    await page.locator('hub-app [data-count="online"] dd', { hasText: /^\s*1\s*$/ }).waitFor({ timeout: UI_TIMEOUT });
    t.pass('the online count went to 1');
    t.equal(await page.locator('store-status-banner [role="alert"]').count(), 0, 'no store banner while the store is fine');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-overview.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-overview-dark.png'), fullPage: true });

    t.strictSame(pageErrors, [], 'no errors in the page');
  });

  t.test('a fleet of 1,500 devices: the list renders a screenful and follows the scroll', async (t) => {
    const hub = await startTestHub(t, { dashboardDir: DIST });
    const count = 1500;
    const ids = Array.from({ length: count }, (_, i) => `fleet-${String(i + 1).padStart(4, '0')}`);
    await provisionDevices({ hubUrl: hub.httpUrl, adminToken: hub.adminToken, devices: ids.map((id) => ({ id, kind: 'sensor' })), concurrency: 20 });
    const context = await launchBrowser(t);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    watchPage(page, pageErrors);
    await page.goto(`${hub.httpUrl}/#token=${hub.adminToken}`);
    await page.locator(`device-list ul.rows[aria-label="Devices (${count} of ${count})"]`).waitFor({ timeout: UI_TIMEOUT });
    const rendered = await page.locator('device-list li.row').count();
    t.ok(rendered > 0 && rendered < 120, `only rows near the viewport are rendered (${rendered} of ${count})`);
    t.equal(await countOf(page, 'total'), String(count));
    t.equal(await page.locator('device-list li.row').first().getAttribute('aria-setsize'), String(count), 'rows say where they are in the list');

    // Scrolled to the end, the last devices are there; the page is as tall as all rows.
    await page.evaluate('window.scrollTo(0, document.documentElement.scrollHeight)');
    await page.locator(`device-list li[data-device-id="${ids[count - 1]}"]`).waitFor({ timeout: UI_TIMEOUT });
    t.pass('the last device is rendered at the bottom');
    t.ok((await page.locator('device-list li.row').count()) < 120, 'still a screenful');

    // Search narrows the list to what matches, rendered in full.
    await page.evaluate('window.scrollTo(0, 0)');
    await page.locator('device-list input[type="search"]').fill('fleet-0777');
    await page.locator('device-list ul.rows[aria-label="Devices (1 of 1500)"]').waitFor({ timeout: UI_TIMEOUT });
    t.equal(await page.locator('device-list li.row').count(), 1);
    t.equal(await page.locator('device-list li.row').getAttribute('aria-setsize'), null, 'a short list is not virtualized');
    t.strictSame(pageErrors, [], 'no errors in the page');
  });

  t.test('the dashboard shows a banner while InfluxDB is unreachable, with the buffer fill', async (t) => {
    // Nothing listens on port 1: the hub starts, buffers, and /healthz says degraded.
    const hub = await startTestHub(t, { dashboardDir: DIST, store: 'influx', influxUrl: 'http://127.0.0.1:1/telemetry' });
    const context = await launchBrowser(t);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    watchPage(page, pageErrors);
    await page.goto(`${hub.httpUrl}/#token=${hub.adminToken}`);
    // The browser logs the 503 that /healthz answers while degraded.
    const expected503 = /status of 503/;
    const banner = page.locator('store-status-banner [role="alert"]');
    await banner.waitFor({ timeout: UI_TIMEOUT });
    t.match(await banner.locator('h2').textContent(), /InfluxDB is unreachable: telemetry is buffered on the hub/);
    t.match(await banner.textContent(), /readings wait in the hub's local buffer \(.*% of its 1 GB quota/);
    t.ok(await banner.locator('meter').count(), 'the buffer fill is drawn as a meter');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-store-degraded.png'), fullPage: true });
    t.strictSame(pageErrors.filter((e) => !expected503.test(e)), [], 'no errors in the page');
  });
}

/** The token the page saved (evaluated in the page; this file is typed for Node, without the DOM). */
async function savedToken(page: Page): Promise<unknown> {
  return page.evaluate("localStorage.getItem('iot-hub.adminToken')");
}

async function countOf(page: Page, key: string): Promise<string | undefined> {
  return (await page.locator(`hub-app [data-count="${key}"] dd`).textContent())?.trim();
}

