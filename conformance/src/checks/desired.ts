/**
 * Desired state [FP-4.3]: a change made while the device is connected, and
 * one made while it is away (the runner makes it reconnect through a
 * disconnect probe and changes desired state before it is back), must each
 * be applied and reported with the new `version`. A device that cannot
 * apply the value may refuse the key (`refused`) instead. The reconnect also
 * gives the traffic checks a fresh connect to judge (hello, state).
 */
import type { DeviceStateView, StateValue } from '@iot-hub/protocol';
import { is, type Seen } from '../observer.js';
import type { Checklist } from '../report.js';
import type { RunContext } from '../run-context.js';

export interface DesiredChange {
  key: string;
  value: Exclude<StateValue, null>;
}

const json = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

/** The change to make while away: back to what the device reported before the run. */
export function awayChange(asked: DesiredChange, before: DeviceStateView): DesiredChange | string {
  const reported = before.reported[asked.key]?.value;
  if (reported === undefined || reported === null || reported === asked.value) {
    return `needs a second value: ${asked.key} reported ${json(reported)} before the run, nothing to change back to while away`;
  }
  return { key: asked.key, value: reported };
}

async function judge(ctx: RunContext, list: Checklist, id: 'desired-connected' | 'desired-away', change: DesiredChange, version: number, from: number): Promise<void> {
  const { key, value } = change;
  const report = await ctx.observer.waitFor((s) => is.in('state')(s) && typeof s.body?.version === 'number' && s.body.version >= version, ctx.timeoutMs, from);
  if (!report?.body) {
    const last = ctx.observer.seen.slice(from).filter(is.in('state')).at(-1)?.body;
    list.set(id, 'fail', `set ${key} = ${json(value)} (version ${version}): no state with version ≥ ${version} within ${ctx.timeoutMs / 1000} s; ${last ? `last state: ${JSON.stringify(last)}` : 'no state at all'}`);
    return;
  }
  const body = report.body;
  const state = (body.state ?? {}) as Record<string, unknown>;
  const refused = (body.refused as Record<string, unknown> | undefined)?.[key];
  if (state[key] === value) return list.set(id, 'pass', `set ${key} = ${json(value)}: reported with version ${json(body.version)}`);
  if (typeof refused === 'string') return list.set(id, 'pass', `set ${key} = ${json(value)}: refused with version ${json(body.version)}: ${refused}`);
  // The value may have come in an earlier state message of the same report.
  const view = await ctx.hub.state(ctx.deviceId);
  const now = view.reported[key]?.value;
  if (now === value) return list.set(id, 'pass', `set ${key} = ${json(value)}: reported, and version ${json(body.version)}`);
  list.set(id, 'fail', `set ${key} = ${json(value)}: the device reported version ${json(body.version)} but ${key} = ${json(now)}, and did not refuse it`);
}

export async function checkDesiredConnected(ctx: RunContext, list: Checklist, change: DesiredChange, before: DeviceStateView): Promise<void> {
  ctx.progress(`setting desired ${change.key} = ${json(change.value)} while the device is connected`);
  const from = ctx.observer.mark;
  const view = await ctx.hub.patchDesired(ctx.deviceId, { [change.key]: change.value });
  if (view.version === before.version) {
    list.set('desired-connected', 'skip', `desired ${change.key} is already ${json(change.value)}: choose another --value`);
    return;
  }
  await judge(ctx, list, 'desired-connected', change, view.version, from);
}

/**
 * Makes the device reconnect; with `away`, changes desired state while it is
 * offline. Returns whether it came back. A device back before the change was
 * made gets one more try; then desired-away is skipped, as nothing was away.
 */
export async function checkReconnect(ctx: RunContext, list: Checklist, away: DesiredChange | null): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    ctx.progress('asking the hub to disconnect the device; it should reconnect');
    const from = ctx.observer.mark;
    await ctx.hub.probe(ctx.deviceId, { kind: 'disconnect' });
    const off = await ctx.observer.waitFor(is.offline, ctx.timeoutMs, from);
    if (!off) {
      list.set('hello-after-connect', 'fail', `the hub disconnected the device, but it was not seen offline within ${ctx.timeoutMs / 1000} s`);
      return false;
    }
    let version = -1;
    let change = away;
    if (change) {
      ctx.progress(`setting desired ${change.key} = ${json(change.value)} while the device is away`);
      version = (await ctx.hub.patchDesired(ctx.deviceId, { [change.key]: change.value })).version;
      const early = ctx.observer.seen.slice(off.index).find(is.online);
      if (early) {
        if (attempt < 2) continue;
        list.set('desired-away', 'skip', `the device was back ${early.at - off.at} ms after the disconnect, before the runner could change desired state while it was away`);
        change = null;
      }
    }
    const on = await ctx.observer.waitFor(is.online, ctx.timeoutMs, off.index);
    if (!on) {
      list.set('hello-after-connect', 'fail', `the device did not reconnect within ${ctx.timeoutMs / 1000} s of the disconnect [FP-1 step 7]`);
      if (change) list.set('desired-away', 'fail', 'the device did not reconnect');
      return false;
    }
    const hello: Seen | null = await ctx.observer.waitFor(is.in('hello'), ctx.timeoutMs, on.index);
    if (hello) await ctx.observer.waitFor(is.in('state'), ctx.timeoutMs, hello.index);
    if (change) await judge(ctx, list, 'desired-away', change, version, on.index);
    return true;
  }
}
