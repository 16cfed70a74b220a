/**
 * Name, room and labels on the device page, in a real browser against the
 * real hub: an admin edits them in place and sees them after a reload (and
 * the overview's room filter offers the new room); a value the hub refuses
 * snaps back with the hub's message; a viewer sees them read-only.
 */
import t from 'tap';
import type { DeviceView } from '@iot-hub/protocol';
import { startTestHub } from '../../hub/test/helpers/hub.js';
import { browserUnavailable, DIST, launchBrowser, UI_TIMEOUT, watchPage } from './helpers/browser.js';

const ID = 'e2e-freezer';

if (browserUnavailable(t) === null) {
  t.test('an admin edits name, room and labels in place; they hold after a reload; a refused value snaps back', async (t) => {
    const hub = await startTestHub(t, { dashboardDir: DIST });
    t.equal((await hub.api('POST', '/api/devices', { id: ID, kind: 'sensor', name: 'Kitchen freezer', labels: ['cold'] })).status, 201);
    const context = await launchBrowser(t);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    watchPage(page, pageErrors);
    await page.goto(`${hub.httpUrl}/#/devices/${ID}&token=${hub.adminToken}`);
    const attributes = page.locator('device-page device-attributes');
    await attributes.locator('[data-labels]').waitFor({ timeout: UI_TIMEOUT });
    t.equal(await attributes.locator('[data-room]').textContent(), 'none');
    t.same(await attributes.locator('[data-labels] li').allTextContents(), ['cold']);

    await attributes.locator('button.edit').click();
    t.equal(await page.evaluate('document.activeElement?.shadowRoot?.activeElement?.shadowRoot?.activeElement?.shadowRoot?.activeElement?.id'), 'attr-name', 'the name field has focus');
    await attributes.locator('#attr-name').fill('Chest freezer');
    await attributes.locator('#attr-room').fill('Cellar');
    await attributes.locator('#attr-labels').fill('critical, cold zone:north');
    await attributes.locator('button[type="submit"]').click();
    await page.locator('device-page h2', { hasText: 'Chest freezer' }).waitFor({ timeout: UI_TIMEOUT });
    t.equal(await attributes.locator('[data-room]').textContent(), 'Cellar');
    t.same(await attributes.locator('[data-labels] li').allTextContents(), ['cold', 'critical', 'zone:north'], 'sorted, as the hub keeps them');
    t.match((await hub.api('GET', `/api/devices/${ID}`)).body as DeviceView, { name: 'Chest freezer', room: 'Cellar', labels: ['cold', 'critical', 'zone:north'] });

    await page.reload();
    await attributes.locator('[data-labels] li').first().waitFor({ timeout: UI_TIMEOUT });
    t.equal(await attributes.locator('[data-room]').textContent(), 'Cellar', 'the room after a reload');
    t.same(await attributes.locator('[data-labels] li').allTextContents(), ['cold', 'critical', 'zone:north'], 'the labels after a reload');

    // A label the hub refuses (upper case): shown at once, then back to what the hub has, with its message.
    await attributes.locator('button.edit').click();
    await attributes.locator('#attr-labels').fill('Loud');
    await attributes.locator('button[type="submit"]').click();
    await attributes.locator('[role="alert"]', { hasText: 'body/labels/0 must match pattern' }).waitFor({ timeout: UI_TIMEOUT });
    t.same(await attributes.locator('[data-labels] li').allTextContents(), ['cold', 'critical', 'zone:north'], 'snapped back');

    // Escape leaves the form unsaved, focus back on the Edit button.
    await attributes.locator('button.edit').click();
    await attributes.locator('#attr-room').fill('Garage');
    await attributes.locator('#attr-room').press('Escape');
    t.equal(await attributes.locator('form').count(), 0, 'the form closed');
    t.equal(await attributes.locator('[data-room]').textContent(), 'Cellar', 'nothing saved');

    // The overview's room filter takes the room set here, not the one from the name ("Kitchen").
    await page.goto(`${hub.httpUrl}/#/`);
    const roomOptions = await page.locator('device-list select#room option').allTextContents();
    t.ok(roomOptions.includes('Cellar'), `the room filter offers Cellar (${roomOptions.join(', ')})`);
    t.notOk(roomOptions.includes('Kitchen'), 'and no longer Kitchen');
    t.strictSame(pageErrors.filter((e) => !/status of 400/.test(e)), [], 'no errors in the page but the refused save');
  });

  t.test('a viewer sees room and labels, with no way to edit them', async (t) => {
    const hub = await startTestHub(t, { dashboardDir: DIST });
    t.equal((await hub.api('POST', '/api/devices', { id: ID, kind: 'sensor', room: 'Cellar', labels: ['cold'] })).status, 201);
    t.equal((await hub.api('POST', '/api/users', { username: 'vera', password: 'vera-password', role: 'viewer' })).status, 201);
    const context = await launchBrowser(t);
    const page = await context.newPage();
    await page.goto(`${hub.httpUrl}/#/devices/${ID}`);
    await page.locator('token-form input#username').fill('vera');
    await page.locator('token-form input#password').fill('vera-password');
    await page.locator('token-form button[type="submit"]').click();
    const attributes = page.locator('device-page device-attributes');
    await attributes.locator('[data-labels] li').first().waitFor({ timeout: UI_TIMEOUT });
    t.equal(await attributes.locator('[data-room]').textContent(), 'Cellar');
    t.same(await attributes.locator('[data-labels] li').allTextContents(), ['cold']);
    t.equal(await attributes.locator('button').count(), 0, 'no edit button');
  });
}
