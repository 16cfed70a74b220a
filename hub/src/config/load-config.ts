/**
 * Flags, then env vars, then defaults; every value checked once, then frozen.
 * The only place (with main.ts) that looks at argv and the environment.
 */
import { parseArgs } from 'node:util';
import { ConfigError, SETTINGS, checkSettings, type HubConfig } from './settings.js';

export interface LoadedConfig {
  config: Readonly<HubConfig>;
  help: boolean;
}

export function loadConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): LoadedConfig {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const s of SETTINGS) options[s.flag] = { type: 'boolean' in s && s.boolean ? 'boolean' : 'string' };

  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (err) {
    // parseArgs explains over several lines; the contract is one line.
    const message = (err as Error).message.split('\n')[0] ?? '';
    const flag = /'(--?[^' ]+)/.exec(message)?.[1] ?? 'arguments';
    throw new ConfigError(flag, `${message} (see --help)`);
  }
  if (values.help === true) return { help: true, config: Object.freeze(defaults()) };

  const config: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const flagValue = values[s.flag];
    const fromFlag = typeof flagValue === 'boolean' ? String(flagValue) : flagValue;
    const fromEnv = env[s.env];
    const [raw, source] =
      typeof fromFlag === 'string' ? [fromFlag, `--${s.flag}`] : fromEnv !== undefined ? [fromEnv, s.env] : [s.default, `--${s.flag}`];
    if (raw === null) {
      config[s.key] = null;
      continue;
    }
    try {
      config[s.key] = s.parse(raw);
    } catch (err) {
      throw new ConfigError(source, (err as Error).message);
    }
  }
  const result = config as unknown as HubConfig;
  checkSettings(result);
  return { help: false, config: Object.freeze(result) };
}

function defaults(): HubConfig {
  const config: Record<string, unknown> = {};
  for (const s of SETTINGS) config[s.key] = s.default === null ? null : s.parse(s.default);
  return config as unknown as HubConfig;
}

export function helpText(): string {
  const lines = [
    'Usage: iot-hub [options]',
    '',
    'Starts the hub: embedded MQTT broker, device and dashboard WebSockets, HTTP API and dashboard.',
    'Every option can also be given as the environment variable shown; flags win.',
    '',
  ];
  for (const s of SETTINGS) {
    const def = s.default === null ? '' : ` (default: ${s.default === '' ? 'none' : s.default})`;
    lines.push(`  --${s.flag} <value>`.padEnd(30) + `${s.env}`);
    lines.push(`      ${s.help}${def}`);
  }
  lines.push('  --help'.padEnd(30) + 'show this help');
  lines.push('', 'Bad configuration prints one line naming the setting and exits with code 2.');
  lines.push('', 'Operator accounts: iot-hub user add <username> --role viewer|operator|admin [--password-stdin] [--data-dir <dir>]');
  return lines.join('\n');
}
