/**
 * The overview keeps the operator's place (issue 22, defect 1, and the sticky header of 2), in
 * Chromium against the real hub: search, filters and sort live in the URL
 * and come back with the browser's Back button, the device page's back
 * link, a reload and a shared link, and so does the scroll position in a
 * long (virtualized) list; the column header stays in view.
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { provisionDevices } from '@iot-hub/device-sim';
import { startTestHub } from '../../hub/test/helpers/hub.js';
import { browserUnavailable, DIST, launchBrowser, UI_TIMEOUT, watchPage } from './helpers/browser.js';

const FLEET = 440;

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

const scrollY = (page: Page) => page.evaluate<number>('window.scrollY');

if (browserUnavailable(t) === null) {
  t.test('search, filters, sort and scroll survive a visit to a device, a reload and a shared link', async (t) => {
    const hub = await startTestHub(t, { dashboardDir: DIST });
    // Odd numbers are sensors, even ones plugs: 220 sensors, a virtualized list.
    const ids = Array.from({ length: FLEET }, (_, i) => `fleet-${String(i + 1).padStart(4, '0')}`);
    await provisionDevices({ hubUrl: hub.httpUrl, adminToken: hub.adminToken, devices: ids.map((id, i) => ({ id, kind: i % 2 === 0 ? 'sensor' : 'smart-plug' })), concurrency: 20 });

    const context = await launchBrowser(t);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    watchPage(page, pageErrors);
    await page.goto(`${hub.httpUrl}/#token=${hub.adminToken}`);
    await page.locator(`device-list ul.rows[aria-label="Devices (${FLEET} of ${FLEET})"]`).waitFor({ timeout: UI_TIMEOUT });

    // 1. A view: sensors matching "fleet-0", newest name first.
    await page.locator('device-list select#kind').selectOption('sensor');
    await page.locator('device-list input[type="search"]').fill('fleet-0');
    await page.locator('device-list [data-sort-dir]').click();
    const list = page.locator('device-list ul.rows[aria-label="Devices (220 of 440)"]');
    await list.waitFor({ timeout: UI_TIMEOUT });
    const viewHash = '#/?q=fleet-0&kind=sensor&dir=desc';
    t.equal(new URL(page.url()).hash, viewHash, 'the view is in the URL');
    t.equal((await rowIds(page))[0], 'fleet-0439', 'sorted by name, reversed');
    const entries = await page.evaluate<number>('window.history.length');

    // 2. Scrolled far down; the column header stays under the page header.
    await page.evaluate('window.scrollTo(0, 4000)');
    await until(async () => (await scrollY(page)) === 4000, 'the scroll');
    const headTop = await page.locator('device-list .row.head').evaluate((el) => el.getBoundingClientRect().top);
    const pageHeader = await page.locator('hub-app header').evaluate((el) => el.getBoundingClientRect().bottom);
    t.ok(Math.abs(headTop - pageHeader) <= 1, `the column header sticks below the page header (${headTop} vs ${pageHeader})`);
    t.equal(await page.evaluate<number>('window.history.length'), entries, 'changing the view added no history entries');

    // 3. Open a device on screen, then the browser's Back: same view, same place.
    const viewport = await page.evaluate<number>('window.innerHeight');
    const opened = await page.locator('device-list li.row').evaluateAll((rows, bottom) => {
      const onScreen = rows.find((row) => {
        const box = row.getBoundingClientRect();
        return box.top > 200 && box.bottom < bottom;
      });
      return onScreen?.getAttribute('data-device-id') ?? '';
    }, viewport);
    t.match(opened, /^fleet-0\d\d[13579]$/, 'a sensor row is on screen');
    await page.locator(`device-list li[data-device-id="${opened}"] a.name`).click();
    await page.locator('device-page h2', { hasText: opened }).waitFor({ timeout: UI_TIMEOUT });
    t.equal(new URL(page.url()).hash, `#/devices/${opened}`);
    await page.goBack();
    await list.waitFor({ timeout: UI_TIMEOUT });
    t.equal(new URL(page.url()).hash, viewHash, 'Back returns to the same view');
    t.equal(await page.locator('device-list input[type="search"]').inputValue(), 'fleet-0', 'the search is back');
    t.equal(await page.locator('device-list select#kind').inputValue(), 'sensor', 'the filter is back');
    await until(async () => (await scrollY(page)) === 4000, 'the scroll position after Back');
    await page.locator(`device-list li[data-device-id="${opened}"]`).waitFor({ timeout: UI_TIMEOUT });
    t.pass('the opened row is in view again');

    // 4. The device page's own back link does the same.
    await page.locator(`device-list li[data-device-id="${opened}"] a.name`).click();
    await page.locator('device-page h2', { hasText: opened }).waitFor({ timeout: UI_TIMEOUT });
    t.equal(await page.locator('device-page nav a').getAttribute('href'), viewHash, 'the back link names the view');
    await page.locator('device-page nav a').click();
    await list.waitFor({ timeout: UI_TIMEOUT });
    t.equal(new URL(page.url()).hash, viewHash);
    await until(async () => (await scrollY(page)) === 4000, 'the scroll position after the back link');

    // 5. A reload keeps the view and the place.
    await page.reload();
    await list.waitFor({ timeout: UI_TIMEOUT });
    await until(async () => (await scrollY(page)) === 4000, 'the scroll position after a reload');
    t.equal((await rowIds(page)).includes(opened), true, 'the same rows after a reload');

    // 6. A shared link opens the same view in a fresh tab (at its top).
    const shared = await context.newPage();
    watchPage(shared, pageErrors);
    await shared.goto(`${hub.httpUrl}/${viewHash}`);
    await shared.locator('device-list ul.rows[aria-label="Devices (220 of 440)"]').waitFor({ timeout: UI_TIMEOUT });
    t.equal((await rowIds(shared))[0], 'fleet-0439', 'sorted the same way');
    t.strictSame(pageErrors, [], 'no errors in the page');
  });
}
