/**
 * Alerts live in the dashboard (issue 21), in Chromium against the real hub
 * and a real MQTT device: a threshold crossing shows the header badge, a
 * toast and the device row's state; an operator acknowledges it with a note
 * from the Alerts page; a rule created in the form fires; a viewer sees the
 * acknowledge control disabled, with the controls' words.
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { connectMqtt } from '../../hub/test/helpers/clients.js';
import { startTestHub } from '../../hub/test/helpers/hub.js';
import { ARTIFACTS, browserUnavailable, DIST, launchBrowser, UI_TIMEOUT, watchPage } from './helpers/browser.js';

const HELLO = JSON.stringify({ kind: 'freezer', metrics: { temp: { type: 'number', unit: '°C' }, humidity: { type: 'number', unit: '%' } } });

async function badgeCount(page: Page): Promise<string | null> {
  return page.locator('alert-badge a').getAttribute('data-firing');
}

if (browserUnavailable(t) === null) {
  t.test('a threshold crossing: badge, toast, row state; acknowledge with a note; a rule from the form fires', async (t) => {
    const hub = await startTestHub(t, { dashboardDir: DIST });
    const { token } = await hub.provision('freezer-1', 'freezer');
    const device = await connectMqtt(t, hub, 'freezer-1', token);
    await device.publishAsync('devices/freezer-1/hello', HELLO, { qos: 1 });
    await device.publishAsync('devices/freezer-1/telemetry', JSON.stringify({ metrics: { temp: -20, humidity: 40 } }), { qos: 1 });
    const created = await hub.api('POST', '/api/rules', {
      name: 'Freezer warm',
      description: '{deviceName} at {value} °C',
      severity: 'critical',
      scope: { type: 'device', deviceId: 'freezer-1' },
      condition: { type: 'above', metric: 'temp', value: -15, clear: -17 },
    });
    t.equal(created.status, 201, JSON.stringify(created.body));

    const context = await launchBrowser(t);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    watchPage(page, pageErrors);
    await page.goto(`${hub.httpUrl}/#/?sort=alerts&token=${hub.adminToken}`);
    await page.locator('device-list li[data-device-id="freezer-1"] [data-presence="online"]').waitFor({ timeout: UI_TIMEOUT });
    t.equal(await badgeCount(page), '0', 'nothing fires yet');
    t.equal(await page.locator('alert-toasts li').count(), 0);
    t.equal(await page.locator('device-list select#sort').inputValue(), 'alerts', 'the alerts sort from the URL');

    // The crossing, live: badge, toast, row.
    await device.publishAsync('devices/freezer-1/telemetry', JSON.stringify({ metrics: { temp: -10 } }), { qos: 1 });
    await page.locator('alert-badge a[data-firing="1"][data-worst="critical"]').waitFor({ timeout: UI_TIMEOUT });
    const toast = page.locator('alert-toasts li');
    await toast.waitFor({ timeout: UI_TIMEOUT });
    t.match(await toast.textContent(), /Critical\s+freezer-1: freezer-1 at -10 °C/);
    t.equal(await page.locator('alert-toasts ol').getAttribute('aria-live'), 'polite');
    const rowState = page.locator('device-list li[data-device-id="freezer-1"] [data-alert-state]');
    t.equal(await rowState.getAttribute('data-alert-state'), 'firing');
    t.equal(await rowState.getAttribute('data-alert-count'), '1');
    t.match(await rowState.textContent(), /1 firing/);
    await page.screenshot({ path: `${ARTIFACTS}/alerts-overview.png`, fullPage: true });
    await toast.locator('button').click();
    await toast.waitFor({ state: 'detached', timeout: UI_TIMEOUT });
    t.pass('the toast is dismissed');

    // The Alerts page: acknowledge with a note.
    await page.locator('alert-badge a').click();
    const item = page.locator('alert-list li[data-device-id="freezer-1"]');
    await item.waitFor({ timeout: UI_TIMEOUT });
    t.equal(await item.getAttribute('data-state'), 'firing');
    t.match(await item.locator('[data-value]').textContent(), /-10/);
    await item.locator('alert-actions input#note').fill('door left open, closing it');
    await item.locator('alert-actions button[data-action="ack"]').click();
    await item.locator('[data-acknowledged]').waitFor({ timeout: UI_TIMEOUT });
    t.equal((await item.locator('[data-acknowledged]').textContent())?.trim(), 'acknowledged by admin: “door left open, closing it”');
    const { body } = (await hub.api('GET', '/api/alerts')) as { body: { alerts: Array<{ acknowledged: { note: string } | null }> } };
    t.equal(body.alerts[0]?.acknowledged?.note, 'door left open, closing it', 'stored on the hub');
    await page.screenshot({ path: `${ARTIFACTS}/alerts-page.png`, fullPage: true });

    // Silence by device for 4 h: the alert says so, and the hub holds the silence.
    await item.locator('alert-actions select#for').selectOption('4');
    await item.locator('alert-actions select#by').selectOption('device');
    const before = Date.now();
    await item.locator('alert-actions button[data-action="silence"]').click();
    await item.locator('[data-silenced]').waitFor({ timeout: UI_TIMEOUT });
    const silences = (await hub.api('GET', '/api/silences')).body as { silences: Array<{ deviceId?: string; ruleId?: string; until: number }> };
    t.equal(silences.silences.length, 1);
    t.equal(silences.silences[0]?.deviceId, 'freezer-1');
    t.equal(silences.silences[0]?.ruleId, undefined, 'by device only');
    const until = silences.silences[0]?.until ?? 0;
    t.ok(until >= before + 4 * 3_600_000 && until <= Date.now() + 4 * 3_600_000, 'for 4 hours');

    // History tab: the firing and the acknowledgement, newest first.
    await page.locator('alerts-page nav a', { hasText: 'History' }).click();
    await page.locator('alert-history tr[data-to="acknowledged"]').waitFor({ timeout: UI_TIMEOUT });
    t.strictSame(await page.locator('alert-history tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-to'))), ['acknowledged', 'firing']);

    // A rule from the form, then a reading that makes it fire.
    await page.goto(`${hub.httpUrl}/#/rules`);
    await page.locator('rules-page tr[data-rule="device-offline"]').waitFor({ timeout: UI_TIMEOUT });
    await page.locator('rules-page button', { hasText: 'New rule' }).click();
    const form = page.locator('rule-editor form');
    await form.locator('input[name="name"]').fill('Too humid');
    await form.locator('select[name="severity"]').selectOption('warning');
    await form.locator('select[name="scopeType"]').selectOption('device');
    await form.locator('input[name="scopeValue"]').fill('freezer-1');
    await form.locator('input[name="metric"]').fill('humidity');
    await form.locator('input[name="value"]').fill('70');
    // A clear on the firing side: the hub's 400 goes next to the field.
    await form.locator('input[name="clear"]').fill('75');
    await form.locator('button[type="submit"]').click();
    const problem = form.locator('[data-problem="condition.clear"]');
    await problem.waitFor({ timeout: UI_TIMEOUT });
    t.match(await problem.textContent(), /must be at most condition.value \(70\) for above, got 75/);
    await form.locator('input[name="clear"]').fill('65');
    await form.locator('button[type="submit"]').click();
    const newRow = page.locator('rules-page tr', { hasText: 'Too humid' });
    await newRow.waitFor({ timeout: UI_TIMEOUT });
    t.match(await newRow.textContent(), /humidity above 70 \(clears at 65\)/);
    await device.publishAsync('devices/freezer-1/telemetry', JSON.stringify({ metrics: { humidity: 80 } }), { qos: 1 });
    await page.locator('alert-badge a[data-firing="2"][data-worst="critical"]').waitFor({ timeout: UI_TIMEOUT });
    t.equal(await page.locator('alert-toasts li').count(), 0, 'no toast for a warning');
    await page.goto(`${hub.httpUrl}/#/alerts`);
    await page.locator('alert-list li').nth(1).waitFor({ timeout: UI_TIMEOUT });
    t.strictSame(await page.locator('alert-list li').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-severity'))), ['critical', 'warning'], 'critical first');
    await page.screenshot({ path: `${ARTIFACTS}/alerts-rules.png`, fullPage: true });

    // The device page's Alerts section.
    await page.goto(`${hub.httpUrl}/#/devices/freezer-1`);
    await page.locator('device-alerts alert-list li').nth(1).waitFor({ timeout: UI_TIMEOUT });
    t.equal(await page.locator('device-alerts alert-list li').count(), 2);
    await page.locator('device-alerts alert-history tr[data-to="firing"]').nth(1).waitFor({ timeout: UI_TIMEOUT });
    t.equal(await page.locator('device-alerts alert-history tr[data-to="firing"]').count(), 2, 'its recent history');
    // The browser logs the refused rule's answer; nothing else.
    t.strictSame(pageErrors, ['console: Failed to load resource: the server responded with a status of 400 (Bad Request)'], 'no other errors in the page');
  });

  t.test('a viewer sees acknowledge disabled, with the controls\' words', async (t) => {
    const hub = await startTestHub(t, { dashboardDir: DIST });
    const { token } = await hub.provision('freezer-2', 'freezer');
    const device = await connectMqtt(t, hub, 'freezer-2', token);
    await device.publishAsync('devices/freezer-2/hello', HELLO, { qos: 1 });
    t.equal((await hub.api('POST', '/api/rules', { name: 'Warm', severity: 'warning', scope: { type: 'device', deviceId: 'freezer-2' }, condition: { type: 'above', metric: 'temp', value: 0 } })).status, 201);
    await device.publishAsync('devices/freezer-2/telemetry', JSON.stringify({ metrics: { temp: 5 } }), { qos: 1 });
    t.equal((await hub.api('POST', '/api/users', { username: 'vera', password: 'vera-password', role: 'viewer' })).status, 201);

    const context = await launchBrowser(t);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    watchPage(page, pageErrors);
    await page.goto(`${hub.httpUrl}/#/alerts`);
    await page.locator('token-form input#username').fill('vera');
    await page.locator('token-form input#password').fill('vera-password');
    await page.locator('token-form button[type="submit"]').click();
    const item = page.locator('alert-list li[data-device-id="freezer-2"]');
    await item.waitFor({ timeout: UI_TIMEOUT });
    await item.locator('alert-actions .read-only').waitFor({ timeout: UI_TIMEOUT });
    t.equal((await item.locator('alert-actions .read-only').textContent())?.trim(), 'Your role can look, not command: ask an operator.');
    t.equal(await item.locator('alert-actions button[data-action="ack"]').isDisabled(), true, 'acknowledge is disabled');
    t.equal(await item.locator('alert-actions button[data-action="silence"]').isDisabled(), true, 'silence is disabled');
    await page.goto(`${hub.httpUrl}/#/rules`);
    await page.locator('rules-page tr[data-rule="device-offline"]').waitFor({ timeout: UI_TIMEOUT });
    t.equal(await page.locator('rules-page button', { hasText: 'New rule' }).isDisabled(), true, 'a viewer cannot create a rule');
    t.equal(await page.locator('rules-page tr[data-rule="device-offline"] input[type="checkbox"]').isDisabled(), true, 'nor switch one on');
    await page.screenshot({ path: `${ARTIFACTS}/alerts-viewer.png`, fullPage: true });
    t.strictSame(pageErrors, [], 'no errors in the page');
  });
}
