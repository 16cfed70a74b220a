/**
 * Controls show what the device applied, and the keyboard stays put
 * (issue 22, defects 3 and 5), in Chromium against the real hub and
 * device-sim models: a refused command snaps the select back; after
 * brightness 0 the slider agrees with the tile; a choice for an offline
 * device reads as pending; arrow keys on the Mode select send nothing until
 * Enter; focus stays on a control after its command, so a second Enter
 * works; Escape from the desired-state editor returns to its opener; a skip
 * link leads past the header.
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { DimmableLight, MqttDevice, SimulatedDevice, Thermostat, WsDevice, deviceWsUrl, silentLogger, type DeviceModel } from '@iot-hub/device-sim';
import { startTestHub, type TestHub } from '../../hub/test/helpers/hub.js';
import { browserUnavailable, DIST, launchBrowser, UI_TIMEOUT, watchPage } from './helpers/browser.js';

interface TapLike {
  teardown(fn: () => unknown): void;
}

async function runDevice(t: TapLike, hub: TestHub, id: string, model: DeviceModel, transport: 'mqtt' | 'ws'): Promise<SimulatedDevice> {
  const { token } = await hub.provision(id, model.kind);
  const connection = transport === 'mqtt' ? new MqttDevice({ url: hub.mqttUrl, id, token }) : new WsDevice({ url: deviceWsUrl(hub.httpUrl), id, token });
  const device = new SimulatedDevice({ model, connection, intervalMs: 400, log: silentLogger });
  await device.start();
  t.teardown(() => device.stop());
  return device;
}

async function until(predicate: () => Promise<boolean>, what: string, timeoutMs = UI_TIMEOUT): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The focused element through the shadow roots, as `tag#id[aria-label]`. */
function focused(page: Page): Promise<string> {
  return page.evaluate<string>(`(() => {
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    if (!el) return '';
    return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.getAttribute('aria-label') ? '[' + el.getAttribute('aria-label') + ']' : '');
  })()`);
}

if (browserUnavailable(t) === null) {
  t.test('the thermostat: Mode by keyboard, a refused command snaps back, pending while offline, Escape, skip link', async (t) => {
    const hub = await startTestHub(t, { dashboardDir: DIST });
    const thermostat = new Thermostat({ seed: 3 });
    thermostat.command('set_mode', { mode: 'heat' }, Date.now());
    const device = await runDevice(t, hub, 'kb-thermostat', thermostat, 'ws');
    const context = await launchBrowser(t);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    watchPage(page, pageErrors);
    await page.goto(`${hub.httpUrl}/#/devices/kb-thermostat&token=${hub.adminToken}`);
    const mode = page.locator('device-controls li[data-control="set_mode"]');
    const select = mode.locator('select');
    await page.locator('state-table tr[data-key="mode"] [data-reported]', { hasText: 'heat' }).waitFor({ timeout: UI_TIMEOUT });
    t.equal(await select.inputValue(), 'heat', 'the select shows the reported mode');

    // The skip link is the first stop of the keyboard and leads to the content.
    await page.keyboard.press('Tab');
    t.equal(await focused(page), 'a', 'the first Tab lands on the skip link');
    t.equal((await page.locator('hub-app a.skip').textContent())?.trim(), 'Skip to content');
    await page.keyboard.press('Enter');
    t.equal(await focused(page), 'main#main', 'Enter moves focus to the content');
    t.match(page.url(), /#\/devices\/kb-thermostat$/, 'without changing the page');

    // Arrow keys move the choice without sending; Enter sends it; focus stays on the select.
    await select.focus();
    const selectId = await select.getAttribute('id');
    await page.keyboard.press('ArrowDown');
    t.equal(await select.inputValue(), 'eco', 'the arrow moved the choice');
    await mode.locator('[data-choice="unsent"]', { hasText: 'Press Enter to send eco' }).waitFor({ timeout: UI_TIMEOUT });
    await new Promise((resolve) => setTimeout(resolve, 800));
    t.equal(await page.locator('command-timeline li[data-command="set_mode"]').count(), 0, 'no command on an arrow key');
    t.equal(thermostat.state().mode, 'heat');
    await page.keyboard.press('Enter');
    await mode.locator('.feedback [data-state="succeeded"]').waitFor({ timeout: UI_TIMEOUT });
    t.equal(thermostat.state().mode, 'eco', 'Enter sent it');
    t.equal(await page.locator('command-timeline li[data-command="set_mode"]').count(), 1, 'one command');
    t.equal(await focused(page), `select#${selectId}`, 'focus stayed on the select');

    // Escape (or leaving) puts back the device's value.
    await page.keyboard.press('ArrowDown');
    t.equal(await select.inputValue(), 'off');
    await page.keyboard.press('Escape');
    await until(async () => (await select.inputValue()) === 'eco', 'the select back on the reported mode');
    t.equal(await page.locator('command-timeline li[data-command="set_mode"]').count(), 1, 'nothing sent');

    // A command the hub never gets (the request fails): the select snaps back to what the device has.
    await page.route('**/api/devices/kb-thermostat/commands', (route) => route.abort('connectionrefused'));
    await select.selectOption('off');
    await mode.locator('.feedback [data-state="refused"]').waitFor({ timeout: UI_TIMEOUT });
    await until(async () => (await select.inputValue()) === 'eco', 'the select to snap back');
    t.equal(thermostat.state().mode, 'eco', 'the device still has eco');
    t.equal(await mode.locator('[data-choice]').count(), 0, 'no choice left over');
    await page.unroute('**/api/devices/kb-thermostat/commands');

    // While the device is offline its command waits in the queue: the choice shows, marked pending.
    await device.stop();
    await page.locator('device-page header [data-presence="offline"]').waitFor({ timeout: UI_TIMEOUT });
    await select.selectOption('off');
    await mode.locator('.feedback [data-state="queued"]').waitFor({ timeout: UI_TIMEOUT });
    t.equal(await select.inputValue(), 'off', 'the choice is shown');
    t.equal(await select.getAttribute('data-pending'), '', 'marked pending');
    t.match(await mode.locator('[data-choice="pending"]').textContent(), /off pending: the device has not confirmed it/);

    // Escape from the desired-state editor returns focus to its Set… button.
    const setMode = page.getByRole('button', { name: 'Set desired mode' });
    await setMode.click();
    await page.locator('state-table tr[data-key="mode"] form select').waitFor({ timeout: UI_TIMEOUT });
    t.match(await focused(page), /^select#edit-mode/, 'the editor has focus');
    await page.keyboard.press('Escape');
    await page.locator('state-table tr[data-key="mode"] form').waitFor({ state: 'detached', timeout: UI_TIMEOUT });
    t.equal(await focused(page), 'button[Set desired mode]', 'focus is back on the opener');
    t.strictSame(pageErrors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load resource/.test(e)), [], 'no errors in the page');
  });

  t.test('the light: a second Enter on the switch works; brightness 0 reads 0 on the slider as on the tile', async (t) => {
    const hub = await startTestHub(t, { dashboardDir: DIST });
    const light = new DimmableLight({ seed: 5 });
    light.command('turn_on', { brightness: 60 });
    await runDevice(t, hub, 'kb-light', light, 'mqtt');
    const context = await launchBrowser(t);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    watchPage(page, pageErrors);
    await page.goto(`${hub.httpUrl}/#/devices/kb-light&token=${hub.adminToken}`);
    const power = page.locator('device-controls li[data-control="switch:turn_on"] button[role="switch"]');
    await page.locator('state-table tr[data-key="on"]').waitFor({ timeout: UI_TIMEOUT });
    await until(async () => (await power.getAttribute('aria-checked')) === 'true', 'the switch to show on');

    // Enter turns it off; focus stays; a second Enter turns it on again.
    await power.focus();
    await page.keyboard.press('Enter');
    await page.locator('command-timeline li[data-command="turn_off"] .state', { hasText: 'Succeeded' }).waitFor({ timeout: UI_TIMEOUT });
    t.equal(light.state().on, false, 'off at the device');
    t.match(await focused(page), /^button/, 'focus stayed on the switch');
    await until(async () => (await power.getAttribute('aria-checked')) === 'false', 'the switch to show off');
    await page.keyboard.press('Enter');
    await page.locator('command-timeline li[data-command="turn_on"] .state', { hasText: 'Succeeded' }).waitFor({ timeout: UI_TIMEOUT });
    t.equal(light.state().on, true, 'the second Enter turned it on');

    // Brightness 0 from the keyboard: the light goes off, keeping 60 as its level for later.
    const slider = page.locator('device-controls li[data-control="set_brightness"] input[type="range"]');
    await until(async () => (await slider.inputValue()) === '60', 'the slider at 60');
    await slider.focus();
    await page.keyboard.press('Home');
    await page.locator('device-controls li[data-control="set_brightness"] .feedback [data-state="succeeded"]').waitFor({ timeout: UI_TIMEOUT });
    t.equal(light.state().on, false, 'off at the device');
    t.equal(light.state().brightness, 60, 'its level kept for turning on');
    const tile = page.locator('live-values li[data-metric="brightness"] [data-value]');
    await tile.filter({ hasText: /^\s*0\s*%\s*$/ }).waitFor({ timeout: UI_TIMEOUT });
    await page.locator('state-table tr[data-key="brightness"] [data-reported]', { hasText: '60' }).waitFor({ timeout: UI_TIMEOUT });
    // Several readings later the slider still agrees with the tile, not with the kept level.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    t.equal(await slider.inputValue(), '0', 'the slider reads 0, as the tile');
    t.equal(await slider.getAttribute('data-pending'), null, 'not pending: the device confirmed');
    t.match(await focused(page), /^input/, 'focus stayed on the slider');
    t.strictSame(pageErrors, [], 'no errors in the page');
  });
}
