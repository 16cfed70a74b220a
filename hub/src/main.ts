#!/usr/bin/env -S node --max-semi-space-size=64
/**
 * The hub's command line: reads config, starts the hub, handles signals.
 * The only place that binds ports, touches process.env and exits.
 */
import { loadConfig, helpText } from './config/load-config.js';
import { ConfigError } from './config/settings.js';
import { buildHub } from './hub.js';
import { UncaughtErrors, installProcessGuard } from './process-guard.js';
import { runUserCommand } from './cli/user-command.js';

const SHUTDOWN_TIMEOUT_MS = 10_000;

async function main(): Promise<void> {
  if (process.argv[2] === 'user') {
    process.exitCode = await runUserCommand(process.argv.slice(3), process.env, process);
    return;
  }
  let loaded;
  try {
    loaded = loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (loaded.help) {
    process.stdout.write(helpText() + '\n');
    return;
  }
  const uncaught = new UncaughtErrors();
  const hub = buildHub(loaded.config, { uncaught });
  installProcessGuard(process, hub.log, uncaught);
  try {
    await hub.start();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES') {
      process.stderr.write(`cannot listen: ${e.message} (choose another port with --http-port / --mqtt-port)\n`);
      process.exit(2);
    }
    hub.log.fatal({ err }, 'hub failed to start');
    process.exit(1);
  }
  if (hub.generatedAdminToken) {
    process.stderr.write(
      `\nGenerated admin token (shown only this once; its hash is in the data dir):\n\n  ${hub.generatedAdminToken}\n\n` +
        `Use it as "Authorization: Bearer <token>" for the API and enter it in the dashboard.\n\n`,
    );
  }
  const host = displayHost(loaded.config.host);
  const secure = hub.mqttsPort !== null;
  process.stderr.write(
    `Dashboard: ${secure ? 'https' : 'http'}://${host}:${hub.httpPort}/  MQTT: mqtt://${host}:${hub.mqttPort}` + (secure ? `  MQTT over TLS: mqtts://${host}:${hub.mqttsPort}` : '') + '\n',
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    hub.log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      hub.log.error('shutdown took too long: exiting');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    hub.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        hub.log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

function displayHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? 'localhost' : host;
}

await main();
