/**
 * Dashboard benchmark: the hub as a child process serving the built
 * dashboard, N load devices publishing at 1 Hz each (device-sim's load mode
 * in its own process), and the overview open in headless Chromium
 * (playwright-core, the Debian package). In the page: a MutationObserver on
 * the device list times publish → DOM updated from the `t` metric (epoch ms
 * at send) of the rows on screen; a PerformanceObserver counts long tasks;
 * the JS heap is sampled every 5 s. Beside it, a socket in this process
 * times publish → push, which tells the hub's share of the delay from the
 * browser's. Also the hub's CPU and the load generator's, since all share
 * the machine's cores.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { provisionDevices, summarise, writeCredentialsFile, type LatencySummary } from '@iot-hub/device-sim';
import { DashboardProbe } from './lib/dashboard-probe.js';
import { int, mb, ms, pct, table } from './lib/format.js';
import { startHubProcess } from './lib/hub-process.js';
import { startLoadProcess } from './lib/load-process.js';
import { type MachineInfo } from './lib/machine.js';
import { cpuPercent, ProcSampler } from './lib/proc-stats.js';
import { defineBenchmark } from './lib/harness.js';
import { printedRow, type ScoreRow } from './lib/scoreboard.js';
import { BenchUsageError, benchLog, durationFlag, parseFlags, sleep, wholeFlag } from './lib/flags.js';

const CHROMIUM = '/usr/bin/chromium';
// Flags that work as root in this sandbox (shared/field-notes.md); precise heap figures for performance.memory.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-precise-memory-info'];
const DASHBOARD_DIST = fileURLToPath(new URL('../../dashboard/dist/', import.meta.url));

export const DASHBOARD_HELP = `npm run bench -- dashboard [options]

  --devices N      load devices, each publishing once a second (default 1000)
  --duration D     measured window after a 10 s warm-up: 30s, 2m (default 60s)
  --viewport WxH   browser window (default 1280x800)
`;

interface DashboardOptions {
  devices: number;
  durationMs: number;
  viewport: { width: number; height: number };
}

export function parseDashboardArgs(argv: readonly string[]): DashboardOptions | 'help' {
  const values = parseFlags(argv, { devices: { type: 'string' }, duration: { type: 'string' }, viewport: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) return 'help';
  const viewport = /^(\d+)x(\d+)$/.exec(values.viewport ?? '1280x800');
  if (!viewport) throw new BenchUsageError(`--viewport must be WIDTHxHEIGHT, got "${values.viewport}"`);
  const durationMs = durationFlag('duration', values.duration, '60s');
  return { devices: wholeFlag('devices', values.devices, 1000), durationMs, viewport: { width: Number(viewport[1]), height: Number(viewport[2]) } };
}

const WARMUP_MS = 10_000;
const log = benchLog('dashboard');

/** What the page collects; read with page.evaluate. */
interface PageProbe {
  latencies: number[];
  /** Cells that appeared rather than changed. */
  appeared: number;
  longTasks: number;
  longTaskMs: number;
  heap: Array<[number, number]>;
}

/**
 * Installed in the page once the list is rendered; plain browser JavaScript
 * (bench compiles without the DOM's types). The list lives in shadow roots
 * (hub-app → device-list). Each time the text of a row's `t` value changes,
 * the delay from its send time to now is recorded.
 */
const INSTALL_PROBE = `(() => {
  const probe = { latencies: [], appeared: 0, longTasks: 0, longTaskMs: 0, heap: [] };
  window.__probe = probe;
  const list = document.querySelector('hub-app')?.shadowRoot?.querySelector('device-list')?.shadowRoot;
  if (!list) throw new Error('device-list not found');
  const seen = new WeakMap();
  new MutationObserver(() => {
    const now = Date.now();
    for (const cell of list.querySelectorAll('[data-metric="t"]')) {
      const text = cell.textContent ?? '';
      const before = seen.get(cell);
      if (before === text) continue;
      seen.set(cell, text);
      // A cell seen for the first time (on screen at install, or a row newly rendered) is a baseline, not an update.
      if (before === undefined) {
        probe.appeared++;
        continue;
      }
      const sent = Number(text.replace(/\\D/g, ''));
      if (sent > 0) probe.latencies.push(now - sent);
    }
  }).observe(list, { subtree: true, childList: true, characterData: true });
  new PerformanceObserver((entries) => {
    for (const entry of entries.getEntries()) {
      probe.longTasks++;
      probe.longTaskMs += entry.duration;
    }
  }).observe({ type: 'longtask' });
  const sampleHeap = () => performance.memory && probe.heap.push([Date.now(), performance.memory.usedJSHeapSize]);
  sampleHeap();
  setInterval(sampleHeap, 5000);
})()`;

interface DashboardResult {
  machine: MachineInfo;
  options: DashboardOptions & { warmupMs: number };
  fleet: { devices: number; messagesPerSec: number };
  latency: LatencySummary | null;
  /** publish → the dashboard socket of a Node client, over the same window: the hub's share. */
  socketLatency: LatencySummary | null;
  domUpdatesPerSec: number;
  /** `t` cells that came into the DOM during the window (not timed). */
  cellsAppeared: number;
  longTasks: { count: number; perMinute: number; totalMs: number };
  heap: { startBytes: number | null; endBytes: number | null; maxBytes: number | null; series: Array<[number, number]> };
  hubCpuPct: number | null;
  loadCpuPct: number | null;
  hubPeakRssBytes: number;
}

export const dashboardBenchmark = defineBenchmark({
  name: 'dashboard',
  description: 'the overview in headless Chromium with 1,000 devices at 1 Hz: publish → DOM p50/p99, long tasks per minute, JS heap',
  help: DASHBOARD_HELP,
  parse: parseDashboardArgs,
  async measure(options, { workDir, machine }) {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install -y chromium`);
    if (!existsSync(join(DASHBOARD_DIST, 'index.html'))) throw new Error(`${DASHBOARD_DIST} has no build: npm run build -w @iot-hub/dashboard`);
    const adminToken = randomBytes(24).toString('hex');
    const hub = await startHubProcess({
      dataDir: join(workDir, 'data'),
      adminToken,
      logFile: join(workDir, 'hub.log'),
      logLevel: 'warn',
      extraArgs: ['--dashboard-dir', DASHBOARD_DIST],
    });
    const hubSampler = new ProcSampler(hub.pid);
    hubSampler.start(1000);
    let load: ReturnType<typeof startLoadProcess> | undefined;
    let loadSampler: ProcSampler | undefined;
    let browser: Awaited<ReturnType<typeof chromium.launch>> | undefined;
    const socketProbe = new DashboardProbe();
    try {
      log(`hub pid ${hub.pid} at ${hub.httpUrl}; data and logs in ${workDir}`);
      const width = String(options.devices).length;
      const ids = Array.from({ length: options.devices }, (_, i) => `load-${String(i + 1).padStart(width, '0')}`);
      const devices = await provisionDevices({ hubUrl: hub.httpUrl, adminToken, devices: ids.map((id) => ({ id, kind: 'load-sensor' })), concurrency: 100 });
      const credentialsFile = join(workDir, 'load-devices.json');
      await writeCredentialsFile(credentialsFile, devices);
      log(`provisioned ${int(devices.length)} devices`);
      await socketProbe.connect(hub.httpUrl, adminToken);

      load = startLoadProcess({
        hubUrl: hub.httpUrl,
        mqttUrl: hub.mqttUrl,
        credentialsFile,
        devices: options.devices,
        idPrefix: 'load-',
        rate: options.devices,
        maxDurationMs: WARMUP_MS + options.durationMs + 120_000,
        logFile: join(workDir, 'load.log'),
      });
      await load.publishing;
      loadSampler = new ProcSampler(load.pid);
      loadSampler.start(1000);
      log(`load publishing ${int(options.devices)} msgs/s; opening the overview in Chromium`);

      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
      const page = await browser.newPage({ viewport: options.viewport, colorScheme: 'light', locale: 'en-US' });
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await page.goto(`${hub.httpUrl}/#token=${adminToken}`, { timeout: 60_000 });
      await page.locator('device-list [data-metric="t"]').first().waitFor({ timeout: 30_000 });
      await sleep(WARMUP_MS);
      await page.evaluate(INSTALL_PROBE);
      const hubFrom = hubSampler.sample();
      const loadFrom = loadSampler.sample();
      const ackedFrom = load.lastProgress?.acked ?? 0;
      const socketFrom = socketProbe.latency.count;
      const measureStart = Date.now();
      for (let elapsed = 0; elapsed < options.durationMs; elapsed += 10_000) {
        await sleep(Math.min(10_000, options.durationMs - elapsed));
        const count = await page.evaluate<number>('window.__probe.latencies.length');
        log(`${Math.round((Date.now() - measureStart) / 1000)} s: ${int(count)} DOM updates timed`);
      }
      const probe = await page.evaluate<PageProbe>('window.__probe');
      const measuredMs = Date.now() - measureStart;
      const hubTo = hubSampler.sample();
      const loadTo = loadSampler.sample();
      const ackedTo = load.lastProgress?.acked ?? ackedFrom;
      if (pageErrors.length > 0) log(`page errors: ${pageErrors.slice(0, 3).join('; ')}`);

      const heapValues = probe.heap.map(([, bytes]) => bytes);
      const result: DashboardResult = {
        machine,
        options: { ...options, warmupMs: WARMUP_MS },
        fleet: { devices: options.devices, messagesPerSec: ((ackedTo - ackedFrom) * 1000) / measuredMs },
        latency: summarise(Float64Array.from(probe.latencies)),
        socketLatency: socketProbe.latency.summary(socketFrom),
        domUpdatesPerSec: (probe.latencies.length * 1000) / measuredMs,
        cellsAppeared: probe.appeared,
        longTasks: { count: probe.longTasks, perMinute: (probe.longTasks * 60_000) / measuredMs, totalMs: probe.longTaskMs },
        heap: {
          startBytes: heapValues[0] ?? null,
          endBytes: heapValues.at(-1) ?? null,
          maxBytes: heapValues.length > 0 ? Math.max(...heapValues) : null,
          series: probe.heap,
        },
        hubCpuPct: hubFrom && hubTo ? cpuPercent(hubFrom, hubTo) : null,
        loadCpuPct: loadFrom && loadTo ? cpuPercent(loadFrom, loadTo) : null,
        hubPeakRssBytes: hubSampler.peakRssBytes,
      };
      return { result, rows: dashboardRows(result), text: formatDashboardResult(result) };
    } finally {
      socketProbe.close();
      await browser?.close();
      loadSampler?.stop();
      hubSampler.stop();
      await load?.stop();
      await hub.stop();
    }
  },
});

function formatDashboardResult(r: DashboardResult): string {
  const heap = (bytes: number | null) => (bytes === null ? '-' : mb(bytes));
  return table([
    ['devices × 1 Hz', `${int(r.fleet.devices)} (${int(r.fleet.messagesPerSec)} msgs/s acked in the window)`],
    ['window', `${(r.options.durationMs / 1000).toFixed(0)} s after ${(r.options.warmupMs / 1000).toFixed(0)} s warm-up, viewport ${r.options.viewport.width}x${r.options.viewport.height}`],
    ['publish → DOM p50 / p90 / p99 / max', r.latency ? `${ms(r.latency.p50)} / ${ms(r.latency.p90)} / ${ms(r.latency.p99)} / ${ms(r.latency.max)}` : '-'],
    ['publish → socket p50 / p90 / p99 / max', r.socketLatency ? `${ms(r.socketLatency.p50)} / ${ms(r.socketLatency.p90)} / ${ms(r.socketLatency.p99)} / ${ms(r.socketLatency.max)}` : '-'],
    ['rows updated on screen', `${r.domUpdatesPerSec.toFixed(1)} /s (${int(r.latency?.count ?? 0)} timed, ${int(r.cellsAppeared)} cells appeared)`],
    ['long tasks (> 50 ms)', `${r.longTasks.perMinute.toFixed(1)} /min, ${int(r.longTasks.totalMs)} ms in all`],
    ['JS heap start / end / max', `${heap(r.heap.startBytes)} / ${heap(r.heap.endBytes)} / ${heap(r.heap.maxBytes)}`],
    ['hub CPU (100 % = one core)', r.hubCpuPct === null ? '-' : pct(r.hubCpuPct)],
    ['load generator CPU', r.loadCpuPct === null ? '-' : pct(r.loadCpuPct)],
    ['hub peak RSS', mb(r.hubPeakRssBytes)],
  ]);
}

/** No target is set for the browser yet: its figures are printed so a change shows. */
export function dashboardRows(r: DashboardResult): ScoreRow[] {
  return [
    printedRow(`dashboard: publish → DOM p99, ${int(r.fleet.devices)} devices at 1 Hz`, r.latency ? ms(r.latency.p99) : '-', '', null, 'no target set'),
    printedRow('dashboard: long tasks per minute', r.longTasks.perMinute.toFixed(1), '', null, 'no target set'),
  ];
}
