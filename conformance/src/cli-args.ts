/**
 * Command-line parsing of the conformance runner, kept pure (argv and env
 * in, options out) so it is tested without spawning. Every mistake is a
 * UsageError with one clear line; cli.ts prints it and exits 2.
 */
import { parseArgs } from 'node:util';
import { DEVICE_ID_PATTERN, MAX_HEARTBEAT_SEC, NAME_PATTERN, type StateValue } from '@iot-hub/protocol';
import type { ConformanceOptions } from './runner.js';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const HELP = `conformance: checks a connected device against firmware-protocol.md FP-9

Usage:
  npm run conformance -- --device ID [options]

The hub must be running and the device connected. The runner makes the device
reconnect once, sends it two probe commands (one id twice, one already
expired) and, with --key and --value, changes its desired state (and puts it
back). It prints a checklist: PASS, FAIL, WARN (a recommendation not
followed) or SKIP, each with the clause it checks.

Options:
  --device ID         the device to check (required)
  --hub URL           the hub's HTTP URL (default http://localhost:8080)
  --token TOKEN       an admin API token or the admin token (env HUB_API_TOKEN)
  --observe-sec N     watch the device this long, sending nothing, for the
                      heartbeat check (default: heartbeatSec + half of it, at least 5 s more)
  --key K --value V   a state key the device applies and a value for it: checks
                      desired state while connected and while away. V is JSON
                      (20.5, true, "heat") or else a string (heat)
  --command NAME      the command to probe with (default: the first declared one
                      without required parameters, else the first with sample values)
  --params JSON       its parameters (default {})
  --timeout-sec N     how long to wait for each answer of the device (default 15)
  --json              print the report as JSON
  --help              this text

Exit code: 0 nothing failed, 1 a check failed, 2 the run could not be made.
`;

export type CliCommand = { command: 'help' } | { command: 'run'; options: Omit<ConformanceOptions, 'progress'>; json: boolean };

function positiveInt(flag: string, text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) throw new UsageError(`${flag} must be a whole number of seconds from 1 to ${max}, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** JSON when it parses to a number, boolean or string; anything else is taken as the string itself. */
export function parseValue(text: string): Exclude<StateValue, null> {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') return value;
  } catch {
    // Not JSON: a bare word like heat.
  }
  if (text === 'null') throw new UsageError('--value null removes a key; give a value the device applies');
  return text;
}

export function parseCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): CliCommand {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        device: { type: 'string' },
        hub: { type: 'string' },
        token: { type: 'string' },
        'observe-sec': { type: 'string' },
        key: { type: 'string' },
        value: { type: 'string' },
        command: { type: 'string' },
        params: { type: 'string' },
        'timeout-sec': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see --help)`);
  }
  if (values.help) return { command: 'help' };
  const deviceId = values.device;
  if (deviceId === undefined) throw new UsageError('--device ID is required (see --help)');
  if (!new RegExp(DEVICE_ID_PATTERN).test(deviceId)) throw new UsageError(`--device ${JSON.stringify(deviceId)} is not a device id`);
  const token = values.token ?? env.HUB_API_TOKEN;
  if (token === undefined || token === '') throw new UsageError('an admin token is required: --token TOKEN or env HUB_API_TOKEN');
  const hubUrl = values.hub ?? 'http://localhost:8080';
  if (!/^https?:\/\//.test(hubUrl) || !URL.canParse(hubUrl)) throw new UsageError(`--hub must be an http:// or https:// URL, got ${JSON.stringify(hubUrl)}`);
  if ((values.key === undefined) !== (values.value === undefined)) throw new UsageError('--key and --value go together');
  if (values.key !== undefined && !new RegExp(NAME_PATTERN).test(values.key)) throw new UsageError(`--key ${JSON.stringify(values.key)} is not a state key name`);
  if (values.params !== undefined && values.command === undefined) throw new UsageError('--params needs --command');

  const options: Omit<ConformanceOptions, 'progress'> = { hubUrl, token, deviceId };
  const observeSec = positiveInt('--observe-sec', values['observe-sec'], MAX_HEARTBEAT_SEC * 2);
  if (observeSec !== undefined) options.observeSec = observeSec;
  const timeoutSec = positiveInt('--timeout-sec', values['timeout-sec'], 600);
  if (timeoutSec !== undefined) options.timeoutMs = timeoutSec * 1000;
  if (values.key !== undefined && values.value !== undefined) {
    options.key = values.key;
    options.value = parseValue(values.value);
  }
  if (values.command !== undefined) {
    options.command = values.command;
    if (values.params !== undefined) {
      let params: unknown;
      try {
        params = JSON.parse(values.params);
      } catch {
        throw new UsageError(`--params must be a JSON object, got ${JSON.stringify(values.params)}`);
      }
      if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new UsageError(`--params must be a JSON object, got ${JSON.stringify(values.params)}`);
      options.params = params as Record<string, unknown>;
    }
  }
  return { command: 'run', options, json: values.json === true };
}
