#!/usr/bin/env node
/**
 * `device-sim`: runs a fleet until Ctrl-C, or load mode with a report.
 * The only place that reads process.env, prints, and exits.
 */
import { access, readFile } from 'node:fs/promises';
import { HELP, UsageError, parseCli, type CliCommand, type CommonArgs } from './cli-args.js';
import { HubApiError } from './hub-api.js';
import { formatLoadReport } from './load-report.js';
import type { SimLogger } from './log.js';
import { readCredentialsFile, writeCredentialsFile, type DeviceCredentials } from './provision.js';
import { ScenarioError, parseScenario, planScenario } from './scenario.js';
import { DeviceSimError } from './transports/errors.js';

// fleet.js and load.js pull in mqtt and ws: imported when a command runs, so --help and usage errors stay quick.

const stderrLogger: SimLogger = {
  info: (message) => process.stderr.write(`${new Date().toISOString()} ${message}\n`),
  warn: (message) => process.stderr.write(`${new Date().toISOString()} warn: ${message}\n`),
  error: (message) => process.stderr.write(`${new Date().toISOString()} error: ${message}\n`),
};

async function main(): Promise<number> {
  let command: CliCommand;
  try {
    command = parseCli(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`device-sim: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (command.command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  try {
    return command.command === 'load' ? await runLoadCommand(command) : await runFleetCommand(command);
  } catch (err) {
    if (err instanceof ScenarioError || err instanceof UsageError) {
      process.stderr.write(`device-sim: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`device-sim: ${explain(err, command)}\n`);
    return 1;
  }
}

async function runFleetCommand(args: Extract<CliCommand, { command: 'fleet' }>): Promise<number> {
  const { startFleet } = await import('./fleet.js');
  const scenario = args.scenario === undefined ? undefined : await readScenario(args.scenario, args.idPrefixFlag);
  const saved = await loadSavedCredentials(args);
  const fleet = await startFleet({
    hubUrl: args.hubUrl,
    mqttUrl: args.mqttUrl,
    adminToken: args.adminToken,
    devices: args.devices,
    transport: args.transport,
    intervalMs: args.intervalMs,
    idPrefix: args.idPrefix,
    seed: args.seed,
    kinds: args.kinds,
    credentials: saved,
    log: stderrLogger,
    ...scenario,
    // Flags win over the scenario, key by key.
    faults: { ...scenario?.faults, ...args.faults },
  });
  if (args.credentials) await saveCredentials(args.credentials, saved, fleet.credentials);
  stderrLogger.info(`running ${fleet.devices.length} devices (${fleet.devices.slice(0, 3).join(', ')}${fleet.devices.length > 3 ? ', ...' : ''}); Ctrl-C stops`);

  const report = (): void => {
    const s = fleet.stats();
    const faults = Object.entries(s.faults).filter(([, n]) => n > 0);
    stderrLogger.info(
      `telemetry sent ${s.sent}, acked ${s.acked}, failed ${s.failed}${faults.length > 0 ? `; faults: ${faults.map(([name, n]) => `${name} ${n}`).join(', ')}` : ''}`,
    );
  };
  const statsTimer = setInterval(report, 30_000);
  await new Promise<void>((resolve) => {
    const onSignal = (): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // A second Ctrl-C while stopping exits at once.
      process.once('SIGINT', () => process.exit(130));
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  clearInterval(statsTimer);
  stderrLogger.info('stopping: devices say offline and disconnect');
  await fleet.stop();
  report();
  return 0;
}

async function runLoadCommand(args: Extract<CliCommand, { command: 'load' }>): Promise<number> {
  const [{ runLoad }, { provisionDevices }] = await Promise.all([import('./load.js'), import('./provision.js')]);
  const width = String(args.devices).length;
  const ids = Array.from({ length: args.devices }, (_, i) => `${args.idPrefix}${String(i + 1).padStart(width, '0')}`);
  const saved = await loadSavedCredentials(args);
  const known = new Map((saved ?? []).map((c) => [c.id, c]));
  const missing = ids.filter((id) => !known.has(id));
  if (missing.length > 0) {
    if (!args.adminToken) throw new Error(`no credentials for ${missing.length} device(s) in ${args.credentials} and no admin token to provision them`);
    stderrLogger.info(`provisioning ${missing.length} devices on ${args.hubUrl}`);
    const created = await provisionDevices({
      hubUrl: args.hubUrl,
      adminToken: args.adminToken,
      devices: missing.map((id) => ({ id, kind: 'load-sensor', name: `load ${id}` })),
      concurrency: 100,
    });
    for (const c of created) known.set(c.id, c);
    if (args.credentials) await saveCredentials(args.credentials, saved, created);
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  stderrLogger.info(`load: ${ids.length} devices, QoS ${args.qos}, ${args.inflight} in flight each, ${args.rate ? `${args.rate} msgs/s` : 'flat out'}, ${args.durationMs / 1000}s`);
  const report = await runLoad({
    mqttUrl: args.mqttUrl,
    devices: ids.map((id) => known.get(id) as DeviceCredentials),
    durationMs: args.durationMs,
    qos: args.qos,
    inflight: args.inflight,
    rate: args.rate,
    signal: controller.signal,
  });
  process.stdout.write(args.json ? `${JSON.stringify({ ...report, perDevice: undefined }, null, 2)}\n` : formatLoadReport(report));
  return report.connectFailed > 0 || report.failed > 0 ? 1 : 0;
}

/** The fleet options a scenario file stands for; a missing or bad file is a usage error. */
async function readScenario(path: string, idPrefix: string | undefined) {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--scenario: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const scenario = parseScenario(text, path);
  if (idPrefix !== undefined) scenario.idPrefix = idPrefix;
  const plan = planScenario(scenario);
  stderrLogger.info(`scenario ${scenario.name ?? path}: ${plan.length} devices in ${scenario.rooms.length} rooms${scenario.homes > 1 ? ` × ${scenario.homes} homes` : ''}`);
  return {
    plan,
    devices: plan.length,
    transport: scenario.transport,
    intervalMs: scenario.intervalMs,
    seed: scenario.seed,
    utcOffsetHours: scenario.utcOffsetHours,
    idPrefix: scenario.idPrefix,
    faults: scenario.faults,
  };
}

async function loadSavedCredentials(args: CommonArgs): Promise<DeviceCredentials[] | undefined> {
  if (!args.credentials) return undefined;
  try {
    await access(args.credentials);
  } catch {
    return undefined; // not there yet: written after provisioning
  }
  return readCredentialsFile(args.credentials);
}

async function saveCredentials(path: string, saved: readonly DeviceCredentials[] | undefined, current: readonly DeviceCredentials[]): Promise<void> {
  const merged = new Map((saved ?? []).map((c) => [c.id, c]));
  for (const c of current) merged.set(c.id, c);
  await writeCredentialsFile(path, [...merged.values()]);
}

/** One line that says what went wrong and what to check. */
function explain(err: unknown, args: CliCommand): string {
  if (err instanceof HubApiError) {
    if (err.unreachable) return `${err.message} (check --hub / HUB_URL)`;
    if (err.status === 401) return `the hub refused the admin token (HTTP 401${err.body ? ` ${err.body.error}` : ''}): check --admin-token / HUB_ADMIN_TOKEN`;
    return err.message;
  }
  if (err instanceof DeviceSimError) {
    if (err.code === 'unauthorized' && args.command !== 'help' && args.credentials) {
      return `${err.message} (are the tokens in ${args.credentials} still valid?)`;
    }
    if (err.code === 'unreachable') return `${err.message} (check --mqtt / HUB_MQTT_URL and --hub)`;
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

process.exitCode = await main();
