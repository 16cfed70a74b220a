/**
 * Commands [FP-4.4, FP-4.5], through the hub's probes: the same command id
 * delivered twice must be executed once and answered with the same final
 * result; a command past its `expiresAt` must not be executed; every
 * delivery gets one final result; at most one `acknowledged` per command.
 *
 * The runner sees answers, not effects: "executed once" is judged by the
 * second answer (the same result, no second `acknowledged`). An effect it
 * cannot see (a relay switching twice) is for the author to watch.
 */
import { randomBytes } from 'node:crypto';
import { PROBE_ID_PREFIX, type CommandSpec, type ParamSpec } from '@iot-hub/protocol';
import type { Checklist } from '../report.js';
import type { RunContext } from '../run-context.js';
import type { Seen } from '../observer.js';

/** Answers that arrive this long after the last expected one still count (a second `acknowledged`, a late repeat). */
const SETTLE_MS = 1_000;

export interface ChosenCommand {
  name: string;
  params: Record<string, unknown>;
}

/**
 * The command to probe with: the one asked for, else the first declared one
 * without required parameters, else the first with made-up valid ones.
 */
export function chooseCommand(declared: Record<string, CommandSpec>, asked?: { name: string; params?: Record<string, unknown> }): ChosenCommand | string {
  if (asked) {
    if (!Object.hasOwn(declared, asked.name)) return `--command ${asked.name} is not among the declared commands (${Object.keys(declared).join(', ') || 'none'})`;
    return { name: asked.name, params: asked.params ?? {} };
  }
  const names = Object.keys(declared);
  if (names.length === 0) return 'the device declares no commands';
  const bare = names.find((n) => !Object.values(declared[n]?.params ?? {}).some((p) => p.required === true));
  if (bare !== undefined) return { name: bare, params: {} };
  const name = names[0] as string;
  const params: Record<string, unknown> = {};
  for (const [p, spec] of Object.entries(declared[name]?.params ?? {})) if (spec.required === true) params[p] = sampleValue(spec);
  return { name, params };
}

function sampleValue(spec: ParamSpec): unknown {
  switch (spec.type) {
    case 'boolean':
      return false;
    case 'string':
      return 'conformance';
    case 'enum':
      return spec.values?.[0] ?? '';
    default: {
      const mid = spec.min !== undefined && spec.max !== undefined ? (spec.min + spec.max) / 2 : (spec.min ?? spec.max ?? 0);
      return spec.type === 'integer' ? Math.round(mid) : mid;
    }
  }
}

const isResult = (id: string, statuses: readonly string[]) => (s: Seen) =>
  s.kind === 'in' && s.type === 'result' && s.body?.id === id && statuses.includes(String(s.body?.status));
const FINAL = ['succeeded', 'failed'];

function answers(ctx: RunContext, id: string): { finals: Record<string, unknown>[]; acks: number } {
  const mine = ctx.observer.seen.filter((s) => s.kind === 'in' && s.type === 'result' && s.body?.id === id);
  return { finals: mine.filter((s) => FINAL.includes(String(s.body?.status))).map((s) => s.body as Record<string, unknown>), acks: mine.filter((s) => s.body?.status === 'acknowledged').length };
}

/** The part of a final result that must repeat: status, result and error. */
const outcome = (r: Record<string, unknown> | undefined): string => JSON.stringify(r === undefined ? null : [r.status, r.result ?? null, r.error ?? null]);

export async function checkCommands(ctx: RunContext, list: Checklist, command: ChosenCommand): Promise<void> {
  const what = `${command.name} ${JSON.stringify(command.params)}`;
  const dupId = `${PROBE_ID_PREFIX}dup_${randomBytes(4).toString('hex')}`;
  const expId = `${PROBE_ID_PREFIX}exp_${randomBytes(4).toString('hex')}`;
  const timeoutS = ctx.timeoutMs / 1000;

  ctx.progress(`sending command ${what} as ${dupId}`);
  await ctx.sendCommand({ kind: 'command', id: dupId, name: command.name, params: command.params });
  const first = await ctx.observer.waitFor(isResult(dupId, FINAL), ctx.timeoutMs);
  let secondMark = -1;
  if (first) {
    ctx.progress(`sending ${dupId} again`);
    secondMark = ctx.observer.mark;
    await ctx.sendCommand({ kind: 'command', id: dupId, name: command.name, params: command.params });
    await ctx.observer.waitFor(isResult(dupId, FINAL), ctx.timeoutMs, secondMark);
  }
  await ctx.sleep(SETTLE_MS);
  const dup = answers(ctx, dupId);
  const reAck = secondMark >= 0 && ctx.observer.seen.slice(secondMark).some(isResult(dupId, ['acknowledged']));
  if (!first) list.set('command-duplicate', 'fail', `no final result to ${what} within ${timeoutS} s, so the repeat was not sent`);
  else if (dup.finals.length < 2) list.set('command-duplicate', 'fail', `the repeated id ${dupId} got no final result within ${timeoutS} s (a duplicate MUST be answered with the previous result)`);
  else if (outcome(dup.finals[0]) !== outcome(dup.finals[1])) {
    list.set('command-duplicate', 'fail', `executed again: first answer ${JSON.stringify(dup.finals[0])}, repeat answered ${JSON.stringify(dup.finals[1])}`);
  } else if (reAck) list.set('command-duplicate', 'fail', `executed again: the repeat was acknowledged again before its answer ${JSON.stringify(dup.finals[1])}`);
  else list.set('command-duplicate', 'pass', `${what} sent twice as ${dupId}: the same answer ${outcome(dup.finals[1])} twice`);

  ctx.progress(`sending command ${what} as ${expId}, expired a minute ago`);
  const expiresAt = Date.now() - 60_000;
  await ctx.sendCommand({ kind: 'command', id: expId, name: command.name, params: command.params, expiresAt });
  await ctx.observer.waitFor(isResult(expId, FINAL), ctx.timeoutMs);
  await ctx.sleep(SETTLE_MS);
  const exp = answers(ctx, expId);
  const executed = exp.finals.find((f) => f.status === 'succeeded');
  if (executed) list.set('command-expired', 'fail', `executed: expiresAt ${expiresAt} had passed, yet it answered ${JSON.stringify(executed)}`);
  else if (exp.acks > 0) list.set('command-expired', 'fail', `started: expiresAt ${expiresAt} had passed, yet it answered acknowledged`);
  else if (exp.finals.length === 0) list.set('command-expired', 'warn', `not executed, but not answered either within ${timeoutS} s: answer "failed" with the reason [FP-4.5]`);
  else list.set('command-expired', 'pass', `answered ${JSON.stringify(exp.finals[0])}`);

  // Per delivery: the duplicate probe was delivered twice, unless its first answer never came.
  const deliveries = first ? 2 : 1;
  if (dup.finals.length === deliveries && exp.finals.length <= 1) list.set('command-final', 'pass', `${deliveries} deliveries of ${dupId}, ${dup.finals.length} final results`);
  else if (dup.finals.length < deliveries) list.set('command-final', 'fail', `${deliveries} deliveries of ${dupId} but ${dup.finals.length} final results within ${timeoutS} s`);
  else list.set('command-final', 'fail', `more final results than deliveries: ${dup.finals.length} for ${deliveries} of ${dupId}, ${exp.finals.length} for 1 of ${expId}`);

  const acks = Math.max(dup.acks, exp.acks);
  if (acks <= 1) list.set('command-ack-once', 'pass', `${dup.acks} acknowledged for ${dupId}, ${exp.acks} for ${expId}`);
  else list.set('command-ack-once', 'fail', `${dup.acks} acknowledged for ${dupId}, ${exp.acks} for ${expId}: send at most one per command`);
}
