/**
 * The overview and the raw message inspector in a real browser, against
 * the real hub and simulated devices: filters by kind, room and alerts, the
 * message rate, sparklines, a reading on screen within a second; the
 * inspector shows a device's messages both ways. Then the flows the issue
 * asks for across outages: a command to an offline device is queued and
 * succeeds once it reconnects, and a hub restart shows "reconnecting" and
 * recovers without a page reload.
 */
import t from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { ProvisionResponse } from '@iot-hub/protocol';
import { DimmableLight, MqttDevice, SimulatedDevice, SmartPlug, Thermostat, WsDevice, deviceWsUrl, silentLogger, type DeviceModel } from '@iot-hub/device-sim';
import { startTestHub, type TestHub } from '../../hub/test/helpers/hub.js';
import { ARTIFACTS, browserUnavailable, DIST, launchBrowser, UI_TIMEOUT, watchPage } from './helpers/browser.js';

interface TapLike {
  teardown(fn: () => unknown): void;
}

async function provisionNamed(hub: TestHub, id: string, kind: string, name: string): Promise<ProvisionResponse> {
  const res = await hub.api('POST', '/api/devices', { id, kind, name });
  if (res.status !== 201) throw new Error(`provision ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as ProvisionResponse;
}

function simulate(hub: TestHub, id: string, token: string, model: DeviceModel, transport: 'mqtt' | 'ws'): SimulatedDevice {
  const connection = transport === 'mqtt' ? new MqttDevice({ url: hub.mqttUrl, id, token }) : new WsDevice({ url: deviceWsUrl(hub.httpUrl), id, token });
  return new SimulatedDevice({ model, connection, intervalMs: 400, log: silentLogger });
}

async function runDevice(t: TapLike, hub: TestHub, id: string, name: string, model: DeviceModel, transport: 'mqtt' | 'ws'): Promise<SimulatedDevice> {
  const { token } = await provisionNamed(hub, id, model.kind, name);
  const device = simulate(hub, id, token, model, transport);
  await device.start();
  t.teardown(() => device.stop());
  return device;
}

if (browserUnavailable(t) === null) {
  t.test('the overview: filters, alerts, message rate, sparklines; the inspector', async (t) => {
    const hub = await startTestHub(t, { dashboardDir: DIST });
    await runDevice(t, hub, 'kitchen-thermostat', 'Kitchen thermostat', new Thermostat({ seed: 3 }), 'ws');
    await runDevice(t, hub, 'kitchen-plug', 'Kitchen fridge plug', new SmartPlug({ seed: 7 }), 'mqtt');
    await runDevice(t, hub, 'office-light', 'Office ceiling light', new DimmableLight({ seed: 5 }), 'mqtt');
    // A hand-written device that sends one malformed message: it has an alert.
    const garage = await provisionNamed(hub, 'garage-sensor', 'sensor', 'Garage sensor');
    const client = await mqtt.connectAsync(hub.mqttUrl, { clientId: garage.id, username: garage.id, password: garage.token, reconnectPeriod: 0, connectTimeout: 5_000 });
    t.teardown(() => client.endAsync(true));
    await client.publishAsync(`devices/${garage.id}/telemetry`, '{"metrics": oops', { qos: 0 });
    await client.publishAsync(`devices/${garage.id}/telemetry`, JSON.stringify({ metrics: { temperature: 12.5 } }), { qos: 1 });

    const context = await launchBrowser(t);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    watchPage(page, pageErrors);
    await page.goto(`${hub.httpUrl}/#token=${hub.adminToken}`);
    const rows = page.locator('device-list li.row');
    const rowIds = async () => Promise.all((await rows.all()).map((row) => row.getAttribute('data-device-id')));
    await page.locator('device-list ul.rows[aria-label="Devices (4 of 4)"]').waitFor({ timeout: UI_TIMEOUT });

    // A reading a device sends is on screen within a second of its PUBACK.
    await client.publishAsync(`devices/${garage.id}/telemetry`, JSON.stringify({ metrics: { temperature: 33.3 } }), { qos: 1 });
    await page.locator('device-list li[data-device-id="garage-sensor"] [data-metric="temperature"]', { hasText: '33.3' }).waitFor({ timeout: 1_000 });
    t.pass('a reading shows within 1 s');

    // Counts: the message rate follows live telemetry.
    await page.locator('hub-app [data-count="rate"] dd').filter({ hasNotText: /^\s*0\.0\s*$/ }).waitFor({ timeout: UI_TIMEOUT });
    t.pass('messages/s is above zero');

    // Filters: kind, room (from the name), alerts.
    await page.locator('device-list select#kind').selectOption('smart-plug');
    t.same(await rowIds(), ['kitchen-plug'], 'by kind');
    await page.locator('device-list select#kind').selectOption('');
    await page.locator('device-list select#room').selectOption('Kitchen');
    t.same((await rowIds()).sort(), ['kitchen-plug', 'kitchen-thermostat'], 'by room');
    await page.locator('device-list select#room').selectOption('');
    await page.locator('device-list label.check input').check();
    t.same(await rowIds(), ['garage-sensor'], 'has alerts');
    t.match(await page.locator('device-list [data-alerts]').textContent(), /1 protocol error/);
    await page.locator('device-list label.check input').uncheck();

    // Sparklines fill from live readings (and the history of rows on screen).
    await page.locator('device-list li[data-device-id="kitchen-thermostat"] svg.spark polyline').waitFor({ timeout: UI_TIMEOUT });
    t.pass('the thermostat row has a sparkline');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-overview-filters.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    t.equal(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'), 0, 'on a phone nothing scrolls sideways');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-overview-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 720 });

    // The inspector: messages in (telemetry) and out (a command and its ack) of the device.
    await page.locator('device-list li[data-device-id="kitchen-thermostat"] a').click();
    const inspector = page.locator('message-inspector');
    await inspector.locator('li[data-direction="in"][data-type="telemetry"]').first().waitFor({ timeout: UI_TIMEOUT });
    const sent = await hub.api('POST', '/api/devices/kitchen-thermostat/commands', { name: 'set_mode', params: { mode: 'eco' } });
    t.equal(sent.status, 202);
    await inspector.locator('li[data-direction="out"][data-type="command"]').first().waitFor({ timeout: UI_TIMEOUT });
    await inspector.locator('li[data-direction="in"][data-type="result"]').first().waitFor({ timeout: UI_TIMEOUT });
    t.pass('the command out and its result in');
    await inspector.getByRole('button', { name: 'Pause' }).click();
    await inspector.locator('li[data-type="command"] summary').first().click();
    t.match(await inspector.locator('li[data-type="command"] pre').first().textContent(), /"name": "set_mode"/, 'the body, pretty');
    await inspector.screenshot({ path: join(ARTIFACTS, 'dashboard-message-inspector.png') });
    t.strictSame(pageErrors, [], 'no errors in the page');
  });

  t.test('a command to an offline device is queued, then succeeds when it reconnects; a hub restart recovers without a reload', async (t) => {
    let hub = await startTestHub(t, { dashboardDir: DIST });
    const { token } = await provisionNamed(hub, 'hall-plug', 'smart-plug', 'Hallway plug');
    const plug = new SmartPlug({ seed: 9 });
    plug.command('turn_off', {}, Date.now());
    let device = simulate(hub, 'hall-plug', token, plug, 'mqtt');
    await device.start();

    const context = await launchBrowser(t);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    watchPage(page, pageErrors);
    await page.goto(`${hub.httpUrl}/#/devices/hall-plug&token=${hub.adminToken}`);
    await page.locator('device-page [data-presence="online"]').waitFor({ timeout: UI_TIMEOUT });

    // Offline: the command waits in the queue.
    await device.stop();
    await page.locator('device-page [data-presence="offline"]').waitFor({ timeout: UI_TIMEOUT });
    const sent = await hub.api('POST', '/api/devices/hall-plug/commands', { name: 'turn_on' });
    t.equal(sent.status, 202);
    const turnOn = page.locator('command-timeline li[data-command="turn_on"]');
    await turnOn.locator('.state', { hasText: 'Queued' }).waitFor({ timeout: UI_TIMEOUT });
    t.pass('shown queued while the device is offline');

    // Back online: delivered and done.
    device = simulate(hub, 'hall-plug', token, plug, 'mqtt');
    await device.start();
    await turnOn.locator('.state', { hasText: 'Succeeded' }).waitFor({ timeout: UI_TIMEOUT });
    t.equal(plug.state().on, true, 'the plug is on at the device');
    await device.stop();

    // The hub goes away: the badge says so; it comes back on the same ports: live again, same page.
    const ports = { httpPort: hub.hub.httpPort, mqttPort: hub.hub.mqttPort };
    await page.evaluate('window.__samePage = true');
    await hub.stop();
    await page.locator('connection-badge [data-status="reconnecting"], connection-badge [data-status="offline"]').first().waitFor({ timeout: UI_TIMEOUT });
    t.pass('shows the lost connection');
    hub = await startTestHub(t, { dashboardDir: DIST, ...ports }, hub.dataDir);
    // The page retries with backoff; nudging it is what a user's "retry" would do, but it must come back alone.
    await page.locator('connection-badge [data-status="live"]').waitFor({ timeout: 30_000 });
    t.equal(await page.evaluate('window.__samePage'), true, 'no reload');
    await page.locator('command-timeline li[data-command="turn_on"] .state', { hasText: 'Succeeded' }).waitFor({ timeout: UI_TIMEOUT });
    t.pass('the page shows the hub\'s state again');
    t.strictSame(pageErrors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e)), [], 'no errors in the page');
  });
}
