/**
 * The small things of issue 22, defect 15, in Chromium against the real
 * hub and device-sim models: the tab's title names the page and the
 * device; a contact sensor reads open/closed, not "open off"; the overview
 * says when a device was last seen, not when it connected; a refused value
 * reads in the field's words, not `parameter "target"`.
 */
import t from 'tap';
import { ContactSensor, MqttDevice, SimulatedDevice, Thermostat, silentLogger, type DeviceModel } from '@iot-hub/device-sim';
import { startTestHub, type TestHub } from '../../hub/test/helpers/hub.js';
import { browserUnavailable, DIST, launchBrowser, UI_TIMEOUT, watchPage } from './helpers/browser.js';

interface TapLike {
  teardown(fn: () => unknown): void;
}

async function runDevice(t: TapLike, hub: TestHub, id: string, name: string, model: DeviceModel): Promise<void> {
  const res = await hub.api('POST', '/api/devices', { id, kind: model.kind, name });
  if (res.status !== 201) throw new Error(`provision ${id}: ${res.status}`);
  const { token } = res.body as { token: string };
  const device = new SimulatedDevice({ model, connection: new MqttDevice({ url: hub.mqttUrl, id, token }), intervalMs: 400, log: silentLogger });
  await device.start();
  t.teardown(() => device.stop());
}

if (browserUnavailable(t) === null) {
  t.test('titles, open/closed, last seen and the field words', async (t) => {
    const hub = await startTestHub(t, { dashboardDir: DIST });
    await runDevice(t, hub, 'front-door', 'Front door', new ContactSensor({ seed: 2 }));
    await runDevice(t, hub, 'hall-thermostat', 'Hall thermostat', new Thermostat({ seed: 3 }));
    const context = await launchBrowser(t);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    watchPage(page, pageErrors);
    await page.goto(`${hub.httpUrl}/#token=${hub.adminToken}`);

    const door = page.locator('device-list li[data-device-id="front-door"]');
    const open = door.locator('[data-metric="open"]');
    await open.waitFor({ timeout: UI_TIMEOUT });
    t.match(await open.textContent(), /^\s*(open|closed)\s*$/, 'the contact reads open or closed');
    t.match(await door.locator('.presence .detail').textContent(), /^last seen (just now|\d+ s ago) via MQTT$/, 'last seen, not connected');
    t.equal(await page.title(), 'All devices · IoT Hub');

    await page.locator('device-list li[data-device-id="hall-thermostat"] a.name').click();
    await page.locator('device-controls li[data-control="set_target"] input').waitFor({ timeout: UI_TIMEOUT });
    t.equal(await page.title(), 'Hall thermostat · IoT Hub', 'the title names the device');
    const target = page.locator('device-controls li[data-control="set_target"]');
    await target.locator('input').fill('45');
    await target.locator('input').press('Enter');
    t.equal((await target.locator('.feedback').textContent())?.trim(), 'Target must be at most 30', 'in the field\'s words');
    t.strictSame(pageErrors, [], 'no errors in the page');
  });
}
