/**
 * The state table in a real browser against the real hub and a 1.1 device
 * over MQTT that declares its state keys [FP-4.1] and applies desired state
 * like firmware would [FP-4.3]: Set… only on settable keys, with the
 * declared widget, range and unit; a value out of range refused on the page
 * in the hub's words and never sent; a desired value that reaches the device
 * reads in sync, and pending again when the device drifts back to its
 * default (the hub sends desired again); a value the device refuses shows its
 * reason; Remove stops enforcing a key; and a value whose desired message
 * would not fit the device's buffer comes back with the hub's 422.
 */
import t from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import type { DesiredMessage, DeviceStateView, DeviceView, HelloMessage, StateValue } from '@iot-hub/protocol';
import { connectMqtt } from '../../hub/test/helpers/clients.js';
import { startTestHub, type TestHub } from '../../hub/test/helpers/hub.js';
import { ARTIFACTS, browserUnavailable, DIST, launchBrowser, UI_TIMEOUT, watchPage } from './helpers/browser.js';

const ID = 'e2e-th-declared';

interface TapLike {
  teardown(fn: () => unknown): void;
}
const MIN_BYTES = 1024;

const HELLO: Omit<HelloMessage, 'v' | 'type'> = {
  kind: 'thermostat',
  fw: '1.1.0',
  heartbeatSec: 60,
  metrics: { temperature: { type: 'number', unit: '°C' } },
  state: {
    mode: { type: 'enum', values: ['heat', 'eco', 'off'], settable: true, description: 'operating mode' },
    target: { type: 'number', unit: '°C', min: 5, max: 30, settable: true },
    window: { type: 'string', description: 'open or closed, from the contact' },
    label: { type: 'string', settable: true },
    note: { type: 'string', settable: true },
    memo: { type: 'string', settable: true },
    extra: { type: 'string', settable: true },
  },
};

/**
 * A thermostat as firmware would run it: applies each desired value it
 * can, refuses those it is told to refuse, reports its whole state with the
 * version it applied. `applying` off makes it ignore desired state, to hold
 * a drift in place.
 */
class DeclaringThermostat {
  readonly reported = new Map<string, StateValue>([
    ['mode', 'heat'],
    ['target', 21.5],
    ['window', 'closed'],
  ]);
  readonly desired: DesiredMessage[] = [];
  readonly refusals = new Map<string, string>();
  applying = true;

  constructor(private readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      if (topic !== `devices/${ID}/desired`) return;
      const message = JSON.parse(payload.toString()) as DesiredMessage;
      this.desired.push(message);
      if (this.applying) this.apply(message);
    });
  }

  static async connect(t: TapLike, hub: TestHub, token: string): Promise<DeclaringThermostat> {
    const client = await connectMqtt(t, hub, ID, token);
    const device = new DeclaringThermostat(client);
    await client.subscribeAsync(`devices/${ID}/desired`, { qos: 1 });
    await device.hello();
    await device.report();
    return device;
  }

  async hello(extra: Partial<HelloMessage> = {}): Promise<void> {
    await this.client.publishAsync(`devices/${ID}/hello`, JSON.stringify({ ...HELLO, ...extra }), { qos: 1 });
  }

  apply(message: DesiredMessage): void {
    const refused: Record<string, string> = {};
    for (const [key, value] of Object.entries(message.state)) {
      if (value === null) continue;
      const reason = this.refusals.get(key);
      if (reason !== undefined) refused[key] = reason;
      else this.reported.set(key, value);
    }
    void this.report({ version: message.version, ...(Object.keys(refused).length > 0 ? { refused } : {}) });
  }

  async set(key: string, value: StateValue, version: number): Promise<void> {
    this.reported.set(key, value);
    await this.report({ version });
  }

  async report(extra: { version?: number; refused?: Record<string, string> } = {}): Promise<void> {
    await this.client.publishAsync(`devices/${ID}/state`, JSON.stringify({ state: Object.fromEntries(this.reported), ...extra }), { qos: 1 });
  }
}

async function until(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = UI_TIMEOUT): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function row(page: Page, key: string) {
  return page.locator(`state-table tr[data-key="${key}"]`);
}

async function stateView(hub: TestHub): Promise<DeviceStateView> {
  return (await hub.api('GET', `/api/devices/${ID}/state`)).body as DeviceStateView;
}

async function deviceView(hub: TestHub): Promise<DeviceView> {
  return (await hub.api('GET', `/api/devices/${ID}`)).body as DeviceView;
}

if (browserUnavailable(t) === null) {
  t.test('the state table with a device that declares its state keys', async (t) => {
    const hub = await startTestHub(t, { dashboardDir: DIST });
    const { token } = await hub.provision(ID, 'thermostat');
    const device = await DeclaringThermostat.connect(t, hub, token);

    const context = await launchBrowser(t);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    watchPage(page, pageErrors);
    const patches: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'PATCH' && request.url().endsWith(`/api/devices/${ID}/state/desired`)) patches.push(request.postData() ?? '');
    });

    await page.goto(`${hub.httpUrl}/#/devices/${ID}&token=${hub.adminToken}`);
    await row(page, 'window').waitFor({ timeout: UI_TIMEOUT });

    // 1. Set… on the settable keys only; declared keys not reported yet have a row too.
    await row(page, 'label').waitFor({ timeout: UI_TIMEOUT });
    t.equal(await row(page, 'window').getByRole('button', { name: 'Set desired window' }).count(), 0, 'window is declared, not settable: no Set…');
    t.equal(await row(page, 'mode').getByRole('button', { name: 'Set desired mode' }).count(), 1);
    t.match(await row(page, 'target').locator('[data-reported]').textContent(), /^\s*21\.5 °C\s/, 'values with the unit');
    t.equal(await row(page, 'label').getAttribute('data-status'), 'declared');

    // 2. The editor of a declared number: a number input with the range, step and unit; out of range never leaves the page.
    await row(page, 'target').getByRole('button', { name: 'Set desired target' }).click();
    const input = row(page, 'target').locator('input[type="number"]');
    t.strictSame(
      [await input.getAttribute('min'), await input.getAttribute('max'), await input.getAttribute('step')],
      ['5', '30', '0.1'],
      'the declared range, a step fit for it',
    );
    t.equal(await row(page, 'target').locator('[data-unit]').textContent(), '°C');
    await input.fill('45');
    await input.press('Enter');
    t.equal(await row(page, 'target').locator('[data-problem]').textContent(), 'state key "target" must be from 5 to 30, got 45', 'the hub’s rule, in its words');
    t.equal(patches.length, 0, 'nothing sent');

    // 3. A valid value reaches the device, which applies it: in sync.
    await input.fill('20');
    await input.press('Enter');
    await until(() => device.reported.get('target') === 20, 'the desired target at the device');
    await page.locator('state-table tr[data-key="target"][data-status="in-sync"]').waitFor({ timeout: UI_TIMEOUT });
    t.strictSame(JSON.parse(patches[0]!), { state: { target: 20 }, ifVersion: 0 });
    t.match(await page.locator('state-table .panel-head .hint').textContent(), /^in sync · desired version 1/);

    // 4. The device resets to its default: pending again (desired is kept), and the hub sends desired again.
    device.applying = false;
    const sent = device.desired.length;
    await device.set('target', 21.5, 1);
    await page.locator('state-table tr[data-key="target"][data-status="pending"]').waitFor({ timeout: UI_TIMEOUT });
    t.match(await row(page, 'target').locator('[data-desired]').textContent(), /20 °C/, 'pending, with the desired value');
    t.match(await page.locator('state-table .panel-head .hint').textContent(), /^1 pending/);
    await until(() => device.desired.length > sent, 'desired sent again on the drift');
    t.match(device.desired.at(-1), { state: { target: 20 }, version: 1, delta: { target: 20 } });
    device.applying = true;
    device.apply(device.desired.at(-1)!);
    await page.locator('state-table tr[data-key="target"][data-status="in-sync"]').waitFor({ timeout: UI_TIMEOUT });

    // 5. A value the device cannot apply: the row says so, with the device's reason.
    device.refusals.set('mode', 'eco needs the outdoor sensor');
    await row(page, 'mode').getByRole('button', { name: 'Set desired mode' }).click();
    await row(page, 'mode').locator('select').selectOption('eco');
    await row(page, 'mode').locator('button[type="submit"]').click();
    await page.locator('state-table tr[data-key="mode"][data-status="refused"]').waitFor({ timeout: UI_TIMEOUT });
    t.equal(await row(page, 'mode').locator('[data-refused-reason]').textContent(), 'eco needs the outdoor sensor');
    t.match(await row(page, 'mode').locator('[data-status-text]').textContent(), /Refused by the device:/);
    t.match(await page.locator('state-table .panel-head .hint').textContent(), /^1 refused/);
    t.equal(await page.locator('state-table tbody tr').first().getAttribute('data-key'), 'mode', 'refused keys first');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.locator('state-table').screenshot({ path: join(ARTIFACTS, 'dashboard-state-table.png') });

    // 6. Remove stops enforcing it: a null, the refusal goes, the device's own value stays.
    await row(page, 'mode').getByRole('button', { name: 'Remove desired mode' }).click();
    await page.locator('state-table tr[data-key="mode"][data-status="reported"]').waitFor({ timeout: UI_TIMEOUT });
    t.strictSame(JSON.parse(patches.at(-1)!).state, { mode: null });
    t.equal(await row(page, 'mode').locator('[data-refused-reason]').count(), 0);
    t.equal(device.reported.get('mode'), 'heat');

    // 7. A desired message larger than the device can receive: the hub's 422, shown on the draft.
    for (const key of ['label', 'note', 'memo']) {
      const version = (await stateView(hub)).version;
      const res = await hub.api('PATCH', `/api/devices/${ID}/state/desired`, { state: { [key]: key.charAt(0).repeat(256) }, ifVersion: version });
      t.equal(res.status, 200, `${key} set through the API`);
      await until(() => device.reported.get(key) !== undefined, `${key} at the device`);
    }
    await device.hello({ maxMessageBytes: MIN_BYTES });
    await until(async () => (await deviceView(hub)).capabilities?.maxMessageBytes === MIN_BYTES, 'the smaller buffer declared');
    const refusal = page.waitForResponse((response) => response.request().method() === 'PATCH' && response.url().endsWith('/state/desired'));
    await row(page, 'extra').getByRole('button', { name: 'Set desired extra' }).click();
    const text = row(page, 'extra').locator('input[type="text"]');
    await text.fill('x'.repeat(256));
    await text.press('Enter');
    const response = await refusal;
    t.equal(response.status(), 422);
    const body = (await response.json()) as { error: string; message: string };
    t.equal(body.error, 'too_large_for_device');
    await row(page, 'extra').locator('[data-problem]').waitFor({ timeout: UI_TIMEOUT });
    t.equal(await row(page, 'extra').locator('[data-problem]').textContent(), body.message, 'the hub’s message, on the draft it refused');
    t.equal(await text.inputValue(), 'x'.repeat(256), 'the draft is kept to correct');
    t.equal((await stateView(hub)).desired.extra, undefined, 'nothing stored');

    t.strictSame(pageErrors.filter((e) => !/status of 422/.test(e)), [], 'no errors in the page');
  });
}
