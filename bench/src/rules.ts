/**
 * Rules benchmark (issue 21): the cost of alert rules on ingest, and how
 * soon a threshold crossing reaches a webhook. One hub (SQLite), one run:
 *
 *   A  ingest flat out (or at --rate) with no rules (load devices, device-sim's load
 *      mode in its own process, lib/ingest-trial.ts)
 *   B  the same with one `above` rule per device (load and probe devices)
 *      plus one rule on their kind: stored msgs/s and B ÷ A (target ≥ 0.9)
 *   C  load at 80 % of A's stored rate (or at --rate) while each probe device sends one reading above
 *      its rule's threshold: crossing → signed webhook received, minus the
 *      rule's forSec, p50/p99 (target p99 ≤ 1 s)
 *
 * Self-contained on the existing bench/src/lib helpers; the receiver is
 * lib/rules-webhook.ts, the probes lib/rules-probes.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HubApi, mapConcurrent, provisionDevices, summarise, writeCredentialsFile, type LatencySummary } from '@iot-hub/device-sim';
import { benchLog, durationFlag, parseFlags, sleep, wholeFlag } from './lib/flags.js';
import { table, int, ms } from './lib/format.js';
import { startHubProcess, type HubProcess } from './lib/hub-process.js';
import { runTrial, type IngestSystem, type TrialOptions, type TrialResult } from './lib/ingest-trial.js';
import { loadDeviceIds, startLoadProcess } from './lib/load-process.js';
import { machineInfo } from './lib/machine.js';
import { closeProbes, connectProbes, probeRead, type Probe } from './lib/rules-probes.js';
import { startRulesWebhook, type RulesWebhook } from './lib/rules-webhook.js';
import { writeResult } from './lib/harness.js';

export const RULES_DESCRIPTION = '1,000 rules over 1,000 devices: stored msgs/s with and without rules (target ≥ 0.9 ×), crossing → webhook minus forSec p50/p99 (target p99 ≤ 1 s)';

export const RULES_HELP = `npm run bench -- rules [options]

  --devices N        devices in all, each with its own rule (default 1000)
  --probes N         of those, devices that cross their threshold in phase C (default 200)
  --rate N|flat      load msgs/s of phases A and B, and C (default flat: A and B flat out, as
                     the ingest benchmark starts, C at 80 % of A's stored msgs/s)
  --duration D       publishing window of phases A and B (default 10s)
  --for-sec N        the rules' forSec (default 1)
  --crossing-window D  phase C spreads the crossings over this (default 10s)
  --keep-data        keep the temp dir (hub data and log, load logs)
`;

const log = benchLog('rules');
const LOAD_PREFIX = 'bench-';
const KIND = 'load-sensor';
/** Above any reading the load generator sends (20-30 °C): rules are judged on every reading, none fires. */
const THRESHOLD = 100;
const CROSSING = 150;

interface RulesOptions {
  devices: number;
  probes: number;
  /** undefined: flat out. */
  rate: number | undefined;
  durationMs: number;
  forSec: number;
  crossingWindowMs: number;
  keepData: boolean;
}

function parseRulesArgs(argv: readonly string[]): RulesOptions | 'help' {
  const v = parseFlags(argv, {
    devices: { type: 'string' },
    probes: { type: 'string' },
    rate: { type: 'string' },
    duration: { type: 'string' },
    'for-sec': { type: 'string' },
    'crossing-window': { type: 'string' },
    'keep-data': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) return 'help';
  const devices = wholeFlag('devices', v.devices, 1000, 2);
  return {
    devices,
    probes: Math.min(wholeFlag('probes', v.probes, 200), devices - 1),
    rate: v.rate === undefined || v.rate === 'flat' ? undefined : wholeFlag('rate', v.rate, 0),
    durationMs: durationFlag('duration', v.duration, '10s'),
    forSec: wholeFlag('for-sec', v['for-sec'], 1, 0),
    crossingWindowMs: durationFlag('crossing-window', v['crossing-window'], '10s'),
    keepData: v['keep-data'] ?? false,
  };
}

export async function runRules(argv: readonly string[]): Promise<number> {
  const options = parseRulesArgs(argv);
  if (options === 'help') {
    process.stdout.write(RULES_HELP);
    return 0;
  }
  const startedAt = new Date();
  const workDir = mkdtempSync(join(tmpdir(), 'iot-hub-bench-rules-'));
  log(`temp dir: ${workDir}`);
  const adminToken = randomBytes(24).toString('hex');
  const webhook = await startRulesWebhook();
  let hub: HubProcess | undefined;
  let probes: Probe[] = [];
  try {
    hub = await startHubProcess({ dataDir: join(workDir, 'hub-data'), adminToken, logFile: join(workDir, 'hub.log'), logLevel: 'warn' });
    const api = new HubApi(hub.httpUrl, adminToken);
    const loadIds = loadDeviceIds(LOAD_PREFIX, options.devices - options.probes);
    const probeIds = Array.from({ length: options.probes }, (_, i) => `probe-${String(i + 1).padStart(4, '0')}`);
    const creds = await provisionDevices({ hubUrl: hub.httpUrl, adminToken, devices: [...loadIds, ...probeIds].map((id) => ({ id, kind: KIND })), concurrency: 100 });
    const credentialsFile = join(workDir, 'load-devices.json');
    await writeCredentialsFile(credentialsFile, creds.slice(0, loadIds.length));
    probes = await connectProbes(hub.mqttUrl, creds.slice(loadIds.length));
    log(`hub pid ${hub.pid}; ${int(loadIds.length)} load devices, ${probes.length} probes`);

    const trialOptions: TrialOptions = { durationMs: options.durationMs, settleTimeoutMs: 60_000, workDir, log };
    const system: IngestSystem = {
      name: 'hub (sqlite)',
      mqttUrl: hub.mqttUrl,
      hubUrl: hub.httpUrl,
      credentialsFile,
      devices: loadIds.length,
      idPrefix: LOAD_PREFIX,
      processes: [{ role: 'hub', pid: hub.pid }],
      countStored: (range) => countStored(api, loadIds, range ?? { from: startedAt.getTime() - 60_000, to: Date.now() + 60_000 }),
      mustStore: 'acked',
    };
    const noRules = await runTrial(system, options.rate, trialOptions);
    // After phase A every load device has declared temperature in its hello: a rule on one device needs that.
    const secret = await setUp(hub, adminToken, webhook, [...loadIds, ...probeIds], options.forSec);
    webhook.setSecret(secret);
    const withRules = await runTrial(system, options.rate, trialOptions);
    const crossingRate = options.rate ?? Math.max(1, Math.round(noRules.storedPerSec * 0.8));
    const crossings = await measureCrossings(system, probes, webhook, { ...options, rate: crossingRate }, workDir);

    const ratio = noRules.storedPerSec > 0 ? withRules.storedPerSec / noRules.storedPerSec : 0;
    const result = {
      benchmark: 'rules',
      startedAt: startedAt.toISOString(),
      command: `npm run bench -- rules ${process.argv.slice(3).join(' ')}`.trim(),
      machine: machineInfo(),
      options,
      rules: options.devices + 1,
      ingest: { noRules: brief(noRules), withRules: brief(withRules), ratio, target: 0.9, met: ratio >= 0.9 },
      crossing: { ...crossings, target: { p99Ms: 1000 }, met: crossings.latencyMs !== null && crossings.missed === 0 && crossings.latencyMs.p99 <= 1000 },
      webhook: { ...webhook.counts },
      hubLogs: hub.logs,
    };
    process.stdout.write(`\n${format(result.ingest, crossings, result.rules, webhook.counts)}\n`);
    const file = writeResult(result);
    process.stdout.write(`\nJSON: ${file}\n`);
    return withRules.lossless && noRules.lossless && webhook.counts.badSignature === 0 ? 0 : 1;
  } finally {
    await closeProbes(probes);
    await hub?.stop();
    await webhook.close();
    if (options.keepData) log(`kept ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
}

/** The webhook notifier and the rules: one per device, one on the kind. Returns the notifier's secret. */
async function setUp(hub: HubProcess, adminToken: string, webhook: RulesWebhook, ids: readonly string[], forSec: number): Promise<string> {
  const post = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${hub.httpUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const { secret } = (await post('/api/notifiers', { type: 'webhook', name: 'bench', url: webhook.url })) as { secret: string };
  const t0 = Date.now();
  await mapConcurrent(ids, 16, (id) => post('/api/rules', { name: `${id} hot`, severity: 'warning', scope: { type: 'device', deviceId: id }, condition: { type: 'above', metric: 'temperature', value: THRESHOLD }, forSec }));
  await post('/api/rules', { name: 'any load sensor very hot', severity: 'critical', scope: { type: 'kind', kind: KIND }, condition: { type: 'above', metric: 'temperature', value: THRESHOLD * 2 }, forSec });
  log(`${int(ids.length + 1)} rules created in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return secret;
}

/** Phase C: the load at the same rate, and one crossing per probe spread over the window. */
async function measureCrossings(system: IngestSystem, probes: readonly Probe[], webhook: RulesWebhook, options: RulesOptions & { rate: number }, workDir: string) {
  const load = startLoadProcess({ hubUrl: system.hubUrl, mqttUrl: system.mqttUrl, credentialsFile: system.credentialsFile, devices: system.devices, idPrefix: system.idPrefix, rate: options.rate, maxDurationMs: options.crossingWindowMs + options.forSec * 1000 + 60_000, logFile: join(workDir, 'load-crossings.log') });
  const sentAt = new Map<string, number>();
  let publishErrors = 0;
  try {
    await load.publishing;
    const gap = options.crossingWindowMs / Math.max(1, probes.length);
    const start = Date.now();
    await Promise.all(
      probes.map(async (p, i) => {
        await sleep(Math.max(0, start + i * gap - Date.now()));
        // Stamped before the publish: the reading's trip into the hub counts.
        const at = Date.now();
        try {
          await probeRead(p, CROSSING);
          sentAt.set(p.id, at);
        } catch {
          publishErrors += 1;
        }
      }),
    );
    const deadline = Date.now() + options.forSec * 1000 + 30_000;
    while ([...sentAt.keys()].some((id) => !webhook.firedAt.has(id)) && Date.now() < deadline) await sleep(50);
  } finally {
    await load.stop();
  }
  const latencies = [...sentAt].filter(([id]) => webhook.firedAt.has(id)).map(([id, at]) => (webhook.firedAt.get(id) as number) - at - options.forSec * 1000);
  return { loadRate: options.rate, crossings: sentAt.size, received: latencies.length, missed: sentAt.size - latencies.length, publishErrors, latencyMs: summarise(Float64Array.from(latencies)) };
}

async function countStored(api: HubApi, ids: readonly string[], range: { from: number; to: number }): Promise<number> {
  const counts = await mapConcurrent(ids, 32, async (id) => {
    const history = await api.history(id, { metric: 'temperature', from: Math.floor(range.from), to: Math.ceil(range.to), maxPoints: 1 });
    return history.series.reduce((n, s) => n + s.points.reduce((m, p) => m + p.count, 0), 0);
  });
  return counts.reduce((a, b) => a + b, 0);
}

function brief(r: TrialResult) {
  return { rateAsked: r.rateAsked, sent: r.sent, acked: r.acked, stored: r.stored, lossless: r.lossless, storedPerSec: r.storedPerSec, hubCpuPercent: r.cpuPercent.hub ?? null, loadAvg1m: r.loadAvg1m };
}

function format(ingest: { noRules: ReturnType<typeof brief>; withRules: ReturnType<typeof brief>; ratio: number }, c: { loadRate: number; crossings: number; received: number; missed: number; latencyMs: LatencySummary | null }, rules: number, hooks: RulesWebhook['counts']): string {
  return table([
    ['rules', int(rules)],
    ['A: no rules, stored msgs/s', `${int(ingest.noRules.storedPerSec)}${ingest.noRules.lossless ? '' : ' (LOSSY)'} (hub CPU ${ingest.noRules.hubCpuPercent?.toFixed(0) ?? '-'} %)`],
    ['B: with rules, stored msgs/s', `${int(ingest.withRules.storedPerSec)}${ingest.withRules.lossless ? '' : ' (LOSSY)'} (hub CPU ${ingest.withRules.hubCpuPercent?.toFixed(0) ?? '-'} %)`],
    ['B ÷ A (target ≥ 0.9)', ingest.ratio.toFixed(3)],
    ['C: load msgs/s; crossings sent / webhooked', `${int(c.loadRate)}; ${c.crossings} / ${c.received}`],
    ['crossing → webhook − forSec p50', ms(c.latencyMs?.p50)],
    ['crossing → webhook − forSec p99 (target ≤ 1 s)', ms(c.latencyMs?.p99)],
    ['crossing → webhook − forSec max', ms(c.latencyMs?.max)],
    ['webhook requests (firing / resolved / bad signature)', `${hooks.requests} (${hooks.firing} / ${hooks.resolved} / ${hooks.badSignature})`],
  ]);
}
