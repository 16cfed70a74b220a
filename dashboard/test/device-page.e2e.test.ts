/**
 * The device page in a real browser against the real hub and simulated
 * devices (device-sim's models over MQTT and WebSocket): open a device from
 * the list, the history chart renders from the hub and grows live without
 * refetching, toggling a smart plug turns it on at the device and the page
 * shows the command succeed, by mouse and by keyboard; desired state set in
 * the table reaches the device; an enum select commands a thermostat.
 */
import t from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { Page } from 'playwright-core';
import { DimmableLight, MqttDevice, SimulatedDevice, SmartPlug, Thermostat, WsDevice, deviceWsUrl, silentLogger, type DeviceModel } from '@iot-hub/device-sim';
import { startTestHub, type TestHub } from '../../hub/test/helpers/hub.js';
import { SPARK_SLOTS } from '../src/data/overview.js';
import { ARTIFACTS, browserUnavailable, DIST, launchBrowser, UI_TIMEOUT, watchPage } from './helpers/browser.js';

const PLUG_ID = 'e2e-plug-1';
const THERMOSTAT_ID = 'e2e-thermostat-1';
const HOUR = 3_600_000;

interface TapLike {
  teardown(fn: () => unknown): void;
}

/** Runs a device-sim model as a device of the hub, sampling every `intervalMs`. */
async function runDevice(t: TapLike, hub: TestHub, id: string, model: DeviceModel, transport: 'mqtt' | 'ws'): Promise<void> {
  const { token } = await hub.provision(id, model.kind);
  const connection = transport === 'mqtt' ? new MqttDevice({ url: hub.mqttUrl, id, token }) : new WsDevice({ url: deviceWsUrl(hub.httpUrl), id, token });
  const device = new SimulatedDevice({ model, connection, intervalMs: 400, log: silentLogger });
  await device.start();
  t.teardown(() => device.stop());
}

/**
 * An hour of readings from before the test, one every 3 s: more than the
 * chart's width, so the hub answers with buckets and the band shows. Sent
 * as the device would flush a backlog, before it starts sampling.
 */
async function seedHistory(hub: TestHub, id: string, token: string): Promise<void> {
  const client = await mqtt.connectAsync(hub.mqttUrl, { clientId: id, username: id, password: token, reconnectPeriod: 0, connectTimeout: 5_000 });
  try {
    const start = Date.now() - HOUR;
    for (let batch = 0; batch < 3; batch++) {
      const samples = Array.from({ length: 400 }, (_, i) => {
        const n = batch * 400 + i;
        return { ts: start + n * 3_000, metrics: { power: Math.round(60 + 25 * Math.sin(n / 90) + (n % 7) * 3), on: true } };
      });
      await client.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ samples }), { qos: 1 });
    }
  } finally {
    await client.endAsync();
  }
}

/** The readings count the chart of `metric` announces to screen readers (its text alternative). */
async function chartReadings(page: Page, metric: string): Promise<number> {
  const label = await page.locator(`history-panel figure[data-chart="${metric}"] history-chart .plot`).getAttribute('aria-label');
  return Number(/: (\d+) readings/.exec(label ?? '')?.[1] ?? 0);
}

async function until(predicate: () => Promise<boolean>, what: string, timeoutMs = UI_TIMEOUT): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

if (browserUnavailable(t) === null) {
  t.test('the device page: chart, live values, a smart plug switched on at the device, state and commands', async (t) => {
    const hub = await startTestHub(t, { dashboardDir: DIST });

    // A smart plug over MQTT, switched off, with an hour of history; a thermostat over WebSocket.
    const { token: plugToken } = await hub.provision(PLUG_ID, 'smart-plug');
    await seedHistory(hub, PLUG_ID, plugToken);
    const plug = new SmartPlug({ seed: 7 });
    plug.command('turn_off', {}, Date.now());
    const plugDevice = new SimulatedDevice({ model: plug, connection: new MqttDevice({ url: hub.mqttUrl, id: PLUG_ID, token: plugToken }), intervalMs: 400, log: silentLogger });
    await plugDevice.start();
    t.teardown(() => plugDevice.stop());
    const thermostat = new Thermostat({ seed: 3 });
    await runDevice(t, hub, THERMOSTAT_ID, thermostat, 'ws');

    const context = await launchBrowser(t);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    watchPage(page, pageErrors);
    const historyRequests: string[] = [];
    page.on('request', (request) => {
      // The overview's sparklines fetch a few minutes of their rows (SPARK_SLOTS points): not the chart's.
      const url = new URL(request.url());
      if (/\/api\/devices\/[^/]+\/telemetry/.test(url.pathname) && url.searchParams.get('maxPoints') !== String(SPARK_SLOTS)) historyRequests.push(request.url());
    });

    // 1. From the overview, the device's name opens its page.
    await page.goto(`${hub.httpUrl}/#token=${hub.adminToken}`);
    await page.locator(`device-list li[data-device-id="${PLUG_ID}"] a`).click();
    await page.locator('device-page live-values').waitFor({ timeout: UI_TIMEOUT });
    t.match(page.url(), new RegExp(`#/devices/${PLUG_ID}$`), 'the route names the device');
    t.equal(await page.locator('device-page h2').textContent(), PLUG_ID, 'the page is headed by the device');
    await page.locator('device-page [data-presence="online"]').waitFor({ timeout: UI_TIMEOUT });

    // 2. The history chart renders from the hub's buckets, then grows live without another request.
    const powerChart = page.locator('history-panel figure[data-chart="power"]');
    await powerChart.locator('canvas').waitFor({ timeout: UI_TIMEOUT });
    await until(async () => (await chartReadings(page, 'power')) >= 1200, 'the seeded hour in the chart');
    t.match(await page.locator('history-panel .hint').first().textContent(), /averages over \d+ s with min–max band/, 'bucketed, with the band');
    const before = await chartReadings(page, 'power');
    await until(async () => (await chartReadings(page, 'power')) >= before + 3, 'live readings in the chart');
    t.equal(historyRequests.length, 1, 'extended live: the history was fetched once');
    t.match(await page.locator('live-values li[data-metric="power"] [data-value]').textContent(), /W$/, 'live values show units');

    // 3. The plug is off; the power switch turns it on at the device, and the page follows the command to "succeeded".
    const control = page.locator('device-controls li[data-control="switch:turn_on"]');
    const power = control.locator('button[role="switch"]');
    await page.locator('state-table tr[data-key="on"]').waitFor({ timeout: UI_TIMEOUT });
    t.equal(await power.getAttribute('aria-checked'), 'false', 'the switch shows the plug off');
    await power.click();
    await control.locator('.feedback [data-state="succeeded"]').waitFor({ timeout: UI_TIMEOUT });
    t.equal(plug.state().on, true, 'the plug is on at the device');
    t.equal(await power.getAttribute('aria-checked'), 'true', 'and the switch says so');
    const turnOn = page.locator('command-timeline li[data-command="turn_on"]');
    await turnOn.locator('.state', { hasText: 'Succeeded' }).waitFor({ timeout: UI_TIMEOUT });
    const steps = (await turnOn.locator('ol.steps .step-state').allTextContents()).map((s) => s.trim());
    t.strictSame(steps.slice(0, 2), ['Queued', 'Sent'], 'the timeline shows each state it went through');
    t.equal(steps.at(-1), 'Succeeded');
    await page.locator('state-table tr[data-key="on"] [data-reported]', { hasText: 'on' }).waitFor({ timeout: UI_TIMEOUT });
    t.pass('the reported state follows');

    // 4. Keyboard: the switch takes focus and Space turns the plug off again.
    await power.focus();
    await page.keyboard.press('Space');
    await page.locator('command-timeline li[data-command="turn_off"] .state', { hasText: 'Succeeded' }).waitFor({ timeout: UI_TIMEOUT });
    t.equal(plug.state().on, false, 'switched off from the keyboard');
    await until(async () => (await power.getAttribute('aria-checked')) === 'false', 'the switch to show off');

    // 5. Desired state: set `on` in the table; the device applies it and the row settles in sync.
    const onRow = page.locator('state-table tr[data-key="on"]');
    await onRow.getByRole('button', { name: 'Set desired on' }).click();
    await onRow.locator('select').selectOption('true');
    await onRow.locator('button[type="submit"]').click();
    await until(async () => plug.state().on === true, 'the desired value at the device');
    await page.locator('state-table tr[data-key="on"][data-status="in-sync"] [data-reported]', { hasText: 'on' }).waitFor({ timeout: UI_TIMEOUT });
    t.match(await page.locator('state-table .panel-head .hint').textContent(), /in sync · desired version 1/);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-device-page.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-device-page-dark.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });

    // 6. Back to the overview, then a thermostat's enum select (over WebSocket).
    await page.locator('device-page nav a').click();
    await page.locator(`device-list li[data-device-id="${THERMOSTAT_ID}"]`).waitFor({ timeout: UI_TIMEOUT });
    t.match(page.url(), /#\/$/, 'back on the overview');
    await page.locator(`device-list li[data-device-id="${THERMOSTAT_ID}"] a`).click();
    const mode = page.locator('device-controls li[data-control="set_mode"]');
    await mode.locator('select').selectOption('eco');
    await mode.locator('.feedback [data-state="succeeded"]').waitFor({ timeout: UI_TIMEOUT });
    t.equal(thermostat.state().mode, 'eco', 'the thermostat is in eco mode');
    // A value out of the declared range is refused on the page, in the hub's words, and never sent.
    const target = page.locator('device-controls li[data-control="set_target"]');
    await target.locator('input').fill('45');
    await target.locator('input').press('Enter');
    t.match(await target.locator('.feedback').textContent(), /Target must be at most 30/);

    // 7. A device that does not exist says so.
    await page.goto(`${hub.httpUrl}/#/devices/no-such-device`);
    await page.locator('device-page [role="alert"]', { hasText: 'No device “no-such-device”' }).waitFor({ timeout: UI_TIMEOUT });
    t.pass('an unknown device id reads as not found');

    // The browser logs the 404s of the unknown device's state, commands and history.
    t.strictSame(pageErrors.filter((e) => !/status of 404/.test(e)), [], 'no errors in the page');
  });

  t.test('the device page on a phone-sized screen', async (t) => {
    const hub = await startTestHub(t, { dashboardDir: DIST });
    await runDevice(t, hub, 'e2e-light-1', new DimmableLight({ seed: 5 }), 'mqtt');
    const context = await launchBrowser(t, { width: 390, height: 844 });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    watchPage(page, pageErrors);
    await page.goto(`${hub.httpUrl}/#/devices/e2e-light-1&token=${hub.adminToken}`);
    await page.locator('device-controls li[data-control="set_brightness"] input[type="range"]').waitFor({ timeout: UI_TIMEOUT });
    t.pass('a #token= link straight to a device page signs in and opens it');
    t.notMatch(page.url(), /token=/, 'the token left the address bar, the route stayed');
    const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    t.equal(overflow, 0, 'nothing scrolls sideways');
    await page.locator('history-panel figure[data-chart="power"] canvas').waitFor({ timeout: UI_TIMEOUT });
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-device-page-phone.png'), fullPage: true });

    // The theme: dark chosen in the header holds over a light system preference, and across a reload.
    const background = () => page.evaluate('getComputedStyle(document.body).backgroundColor');
    const light = await background();
    await page.locator('theme-picker select').selectOption('dark');
    t.not(await background(), light, 'the page turned dark');
    await page.reload();
    await page.locator('device-controls').waitFor({ timeout: UI_TIMEOUT });
    t.equal(await page.evaluate('document.documentElement.dataset.theme'), 'dark', 'the choice is kept');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-device-page-phone-dark.png'), fullPage: true });
    await page.locator('theme-picker select').selectOption('system');
    t.equal(await background(), light, 'back to the system (light) theme');
    t.strictSame(pageErrors, [], 'no errors in the page');
  });
}
