/**
 * Chromium for the dashboard's end-to-end tests: the Debian package driven
 * by playwright-core, a fresh profile per test, and a watch on the page's
 * errors. A missing Chromium skips loudly, and fails when CI=true
 * (shared/design.md, testing principles).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
// Flags that work as root in this sandbox (shared/field-notes.md).
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const DIST = fileURLToPath(new URL('../../dist', import.meta.url));
/** Where end-to-end tests leave their screenshots. */
export const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts', import.meta.url));
export const UI_TIMEOUT = 10_000;

interface TapLike {
  fail(message: string): void;
  plan(n: number, comment?: string): void;
  teardown(fn: () => unknown): void;
}

/** Why the browser tests cannot run here (after failing or skipping `t` loudly), or null when they can. */
export function browserUnavailable(t: TapLike): string | null {
  if (!existsSync(CHROMIUM)) {
    const reason = `Chromium is missing at ${CHROMIUM}: install the Debian package (apt-get install -y chromium) to run the dashboard end-to-end test`;
    if (process.env.CI === 'true') {
      t.fail(reason);
    } else {
      console.error(`\n*** SKIPPED: ${reason} ***\n`);
      t.plan(0, `skip: ${reason}`);
    }
    return reason;
  }
  if (!existsSync(join(DIST, 'index.html'))) {
    const reason = `the dashboard is not built (${DIST}/index.html missing): run \`npm run build -w @iot-hub/dashboard\` first`;
    t.fail(reason);
    return reason;
  }
  return null;
}

export async function launchBrowser(
  t: { teardown(fn: () => unknown): void },
  viewport: { width: number; height: number } = { width: 1280, height: 720 },
): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'iot-hub-chromium-'));
  t.teardown(() => rmSync(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    colorScheme: 'light',
    locale: 'en-US',
  });
  // Registered after the profile's removal, so it runs first (teardowns run in reverse).
  t.teardown(() => context.close());
  return context;
}

/** Uncaught page errors and console errors, except the expected refusal of a wrong token. */
export function watchPage(page: Page, errors: string[]): void {
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    // The browser logs the refused upgrade and the 401 of the token check for the wrong token.
    if (/401|WebSocket connection to .* failed/.test(text)) return;
    errors.push(`console: ${text}`);
  });
}
