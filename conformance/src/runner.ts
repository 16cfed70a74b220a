/**
 * Walks a connected device through the conformance checklist (FP-9), in
 * this order, each step named:
 *
 *   preflight          the device exists, is online and has sent hello
 *   desired-connected  change desired state, expect it reported with the version
 *   reconnect          disconnect it, change desired state while it is away,
 *                      expect hello, state and the new version after it is back
 *   commands           a command id twice, a command past its expiresAt
 *   heartbeat          send nothing for --observe-sec, measure its silences
 *   traffic            judge everything it sent: hello and state per connect,
 *                      boot, seq, batch shape
 *
 * Desired state the runner changed is put back at the end. The hub's
 * probes (POST /api/devices/{id}/probes) send the raw commands and the
 * disconnect; the dashboard socket shows what the device sent.
 */
import type { DeviceStateView, StateValue } from '@iot-hub/protocol';
import { chooseCommand, checkCommands } from './checks/commands.js';
import { checkConnects } from './checks/connects.js';
import { awayChange, checkDesiredConnected, checkReconnect, type DesiredChange } from './checks/desired.js';
import { checkHeartbeat } from './checks/heartbeat.js';
import { checkBatches, checkSeq } from './checks/seq.js';
import { HubApiError, HubClient } from './hub-client.js';
import { Observer } from './observer.js';
import { Checklist, type ConformanceReport } from './report.js';
import { RunContext } from './run-context.js';

export interface ConformanceOptions {
  /** The hub's HTTP base URL, e.g. http://localhost:8080. */
  hubUrl: string;
  /** An admin token (the probes need admin; everything else reads). */
  token: string;
  deviceId: string;
  /** Quiet window for the heartbeat check; default heartbeatSec plus half of it (at least 5 s more). */
  observeSec?: number;
  /** A state key the device applies, and a value for it: enables the desired-state checks. */
  key?: string;
  value?: Exclude<StateValue, null>;
  /** The command to probe with (default: the first declared one without required params). */
  command?: string;
  params?: Record<string, unknown>;
  /** How long to wait for each answer of the device (default 15 s). */
  timeoutMs?: number;
  /** Progress lines (what the runner is doing now); silent by default. */
  progress?: (line: string) => void;
}

/** The run could not be made (hub unreachable, token refused, no such device): not a verdict on the device. */
export class RunnerError extends Error {
  override readonly name = 'RunnerError';
}

const DEFAULT_TIMEOUT_MS = 15_000;

export function defaultObserveSec(heartbeatSec: number): number {
  return heartbeatSec + Math.max(5, Math.ceil(heartbeatSec / 2));
}

export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const startedAt = Date.now();
  const { deviceId } = options;
  const hub = new HubClient(options.hubUrl, options.token);
  const meta = { deviceId, hubUrl: options.hubUrl, startedAt };
  const device = await hub.device(deviceId).catch((err: unknown) => {
    throw new RunnerError(err instanceof HubApiError && err.status === 404 ? `the hub has no device ${JSON.stringify(deviceId)}` : (err as Error).message);
  });
  const observer = await Observer.open(options.hubUrl, options.token, deviceId).catch((err: unknown) => {
    throw new RunnerError((err as Error).message);
  });
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const ctx = new RunContext(deviceId, hub, observer, timeoutMs, options.progress ?? (() => {}));
  const list = new Checklist();
  try {
    const caps = device.capabilities;
    if (device.presence.status !== 'online') {
      list.set('connected', 'fail', `the device is ${device.presence.status} (${device.presence.reason}): connect it, then run again`);
      return list.report(meta, 'the device is not connected');
    }
    if (!caps) {
      list.set('connected', 'fail', 'the device is connected but has not sent hello [FP-4.1]');
      return list.report(meta, 'no hello: nothing to check against');
    }
    list.set('connected', 'pass', `online over ${device.presence.transport ?? '?'}, kind ${caps.kind}, heartbeatSec ${caps.heartbeatSec}, ${Object.keys(caps.commands).length} command(s)`);

    const back = await desiredAndReconnect(ctx, list, options);
    if (back) {
      const choice = chooseCommand(caps.commands, options.command === undefined ? undefined : { name: options.command, params: options.params ?? {} });
      if (typeof choice === 'string') for (const id of ['command-duplicate', 'command-expired', 'command-final', 'command-ack-once'] as const) list.set(id, 'skip', choice);
      else await checkCommands(ctx, list, choice);
      const heartbeatSec = (await hub.device(deviceId)).capabilities?.heartbeatSec ?? caps.heartbeatSec;
      await checkHeartbeat(ctx, list, heartbeatSec, options.observeSec ?? defaultObserveSec(heartbeatSec));
    }
    const seen = observer.seen;
    checkConnects(seen, list, caps.boot, Date.now(), timeoutMs);
    checkSeq(seen, list, caps.boot);
    checkBatches(seen, list);
    const dropped = seen.some((s) => s.kind === 'overflow');
    return list.report(meta, dropped ? 'the runner fell behind the hub and missed events: run again' : 'not reached: the device did not come back after the reconnect');
  } catch (err) {
    if (err instanceof HubApiError) throw new RunnerError(err.message);
    throw err;
  } finally {
    observer.close();
  }
}

/** The desired-state checks (with --key) and the reconnect; desired state is put back whatever happens. */
async function desiredAndReconnect(ctx: RunContext, list: Checklist, options: ConformanceOptions): Promise<boolean> {
  if (options.key === undefined || options.value === undefined) {
    const why = 'pass --key K --value V: a state key the device applies and a value for it';
    list.set('desired-connected', 'skip', why);
    list.set('desired-away', 'skip', why);
    return checkReconnect(ctx, list, null);
  }
  const asked: DesiredChange = { key: options.key, value: options.value };
  const before: DeviceStateView = await ctx.hub.state(ctx.deviceId);
  try {
    await checkDesiredConnected(ctx, list, asked, before);
    const away = awayChange(asked, before);
    if (typeof away === 'string') list.set('desired-away', 'skip', away);
    return await checkReconnect(ctx, list, typeof away === 'string' ? null : away);
  } finally {
    // What operators had: their desired value, or none (null removes the key).
    await ctx.hub.patchDesired(ctx.deviceId, { [asked.key]: before.desired[asked.key]?.value ?? null }).catch((err: unknown) => {
      ctx.progress(`could not put desired ${asked.key} back: ${(err as Error).message}`);
    });
  }
}
