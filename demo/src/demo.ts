#!/usr/bin/env -S node --max-semi-space-size=64
/**
 * `npm run demo`: the hub on its embedded defaults plus a simulated home,
 * in one process, with nothing else to install. Prints the dashboard URL
 * with a fresh admin token in its fragment (never sent to the server).
 *
 * Demo-only conveniences, not for production: data lives in ./data/demo,
 * and the simulated devices' tokens are kept there in plain text so their
 * history survives a restart of the demo.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { deleteDevices, planFleet, readCredentialsFile, startFleet, writeCredentialsFile, type DeviceCredentials, type Fleet } from '@iot-hub/device-sim';
import { buildHub, ConfigError, generateToken, loadConfig, type Hub, type HubConfig } from '@iot-hub/hub';

const DEMO_DEVICES = 10;
const DEMO_INTERVAL_MS = 2_000;
const DEMO_HOME = { devices: DEMO_DEVICES, transport: 'mixed', idPrefix: 'home-', seed: 42 } as const;

/**
 * Saved device tokens, unless the simulated home's layout changed since
 * they were saved (a newer version of the demo): then the old home's
 * devices are deleted, so the dashboard shows no leftovers under old names.
 */
async function savedHome(file: string, hubUrl: string, adminToken: string): Promise<DeviceCredentials[]> {
  if (!existsSync(file)) return [];
  const saved = await readCredentialsFile(file);
  const planned = new Set(planFleet(DEMO_HOME).map((device) => device.id));
  if (saved.every((c) => planned.has(c.id))) return saved;
  await deleteDevices({ hubUrl, adminToken, ids: saved.map((c) => c.id) });
  return [];
}

async function startHub(config: HubConfig): Promise<Hub> {
  const hub = buildHub(Object.freeze(config));
  try {
    await hub.start();
    return hub;
  } catch (err) {
    // 8080 or 1883 taken (another hub, a Mosquitto…): pick free ports instead.
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    await hub.stop();
    hub.log.warn('default ports are busy: using free ones');
    const fallback = buildHub(Object.freeze({ ...config, httpPort: 0, mqttPort: 0 }));
    await fallback.start();
    return fallback;
  }
}

async function main(): Promise<void> {
  let config: HubConfig;
  try {
    const base = loadConfig(process.argv.slice(2), { HUB_LOG_LEVEL: 'warn', HUB_DATA_DIR: resolve('data', 'demo'), ...process.env }).config;
    config = { ...base, adminToken: base.adminToken ?? generateToken() };
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  mkdirSync(config.dataDir, { recursive: true });
  const hub = await startHub(config);
  const adminToken = config.adminToken as string;
  const hubUrl = `http://127.0.0.1:${hub.httpPort}`;
  const credentialsFile = join(config.dataDir, 'demo-devices.json');

  let fleet: Fleet;
  try {
    fleet = await startFleet({
      hubUrl,
      mqttUrl: `mqtt://127.0.0.1:${hub.mqttPort}`,
      adminToken,
      ...DEMO_HOME,
      intervalMs: DEMO_INTERVAL_MS,
      credentials: await savedHome(credentialsFile, hubUrl, adminToken),
      log: { info: (m) => hub.log.info(m), warn: (m) => hub.log.warn(m), error: (m) => hub.log.error(m) },
    });
    await writeCredentialsFile(credentialsFile, fleet.credentials);
  } catch (err) {
    hub.log.error({ err }, 'the simulated home could not start');
    await hub.stop();
    process.exit(1);
  }

  process.stdout.write(
    [
      '',
      `  IoT hub demo: ${fleet.devices.length} simulated devices (MQTT and WebSocket) are reporting.`,
      '',
      `  Dashboard:   http://localhost:${hub.httpPort}/#token=${adminToken}`,
      `  API:         curl -H 'Authorization: Bearer ${adminToken}' http://localhost:${hub.httpPort}/api/devices`,
      `  MQTT:        mqtt://localhost:${hub.mqttPort}   data: ${config.dataDir}`,
      '',
      '  Press Ctrl-C to stop.',
      '',
    ].join('\n') + '\n',
  );

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping the simulated home and the hub…\n');
    await fleet.stop();
    await hub.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
}

await main();
