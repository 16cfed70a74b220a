/**
 * A device's commands, newest first, kept current from three sources that
 * may arrive in any order: pages of GET /api/devices/{id}/commands, the 202
 * answer to our own POST, and `command` events on the live socket. Each
 * source carries the whole CommandView, so merging is "keep the newer view
 * of each id"; a view is newer when it went further (more transitions, or
 * more late results), which a stale page or a reordered answer cannot undo.
 * Pure functions over immutable values.
 */
import { isFinalCommandState, type CommandListResponse, type CommandState, type CommandView } from '@iot-hub/protocol';

export interface CommandTimeline {
  /** Newest first (by creation time, then id). */
  readonly commands: readonly CommandView[];
  readonly byId: ReadonlyMap<string, CommandView>;
  /** Cursor for the next older page; null when there is none (or before the first page). */
  readonly next: string | null;
  /** True once the first page arrived. */
  readonly loaded: boolean;
  /** True when the oldest commands were dropped to stay within the cap: older pages cannot follow on. */
  readonly trimmed: boolean;
}

export const EMPTY_TIMELINE: CommandTimeline = Object.freeze({
  commands: Object.freeze([]) as readonly CommandView[],
  byId: new Map<string, CommandView>(),
  next: null,
  loaded: false,
  trimmed: false,
});

/** Most commands kept for one page; the oldest go first. */
export const MAX_TIMELINE = 300;

/** How far a view has come: transitions, then late results, then its last change. */
function progress(view: CommandView): [number, number, number] {
  return [view.transitions.length, view.late?.length ?? 0, view.updatedAt];
}

/** True when `a` knows at least as much as `b` about the same command. */
export function isAtLeastAsNew(a: CommandView, b: CommandView): boolean {
  const pa = progress(a);
  const pb = progress(b);
  for (let i = 0; i < pa.length; i++) {
    if ((pa[i] as number) !== (pb[i] as number)) return (pa[i] as number) > (pb[i] as number);
  }
  return true;
}

function newestFirst(a: CommandView, b: CommandView): number {
  return b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

function build(byId: Map<string, CommandView>, next: string | null, loaded: boolean, trimmed: boolean, max: number): CommandTimeline {
  let commands = [...byId.values()].sort(newestFirst);
  if (commands.length > max) {
    for (const dropped of commands.slice(max)) byId.delete(dropped.id);
    commands = commands.slice(0, max);
    trimmed = true;
    next = null;
  }
  return { commands, byId, next, loaded, trimmed };
}

/** Takes in views from any source; returns the same timeline when none of them was news. */
export function applyCommands(timeline: CommandTimeline, views: readonly CommandView[], max = MAX_TIMELINE): CommandTimeline {
  let byId: Map<string, CommandView> | null = null;
  for (const view of views) {
    const current = (byId ?? timeline.byId).get(view.id);
    if (current && (current === view || isAtLeastAsNew(current, view))) continue;
    byId ??= new Map(timeline.byId);
    byId.set(view.id, view);
  }
  if (!byId) return timeline;
  return build(byId, timeline.next, timeline.loaded, timeline.trimmed, max);
}

export function applyCommand(timeline: CommandTimeline, view: CommandView, max = MAX_TIMELINE): CommandTimeline {
  return applyCommands(timeline, [view], max);
}

/**
 * A page from the API. The first page sets the cursor for older ones; a
 * later (`older`) page moves it on. Views the timeline already knows
 * better (from live events during the fetch) are kept.
 */
export function applyPage(timeline: CommandTimeline, page: CommandListResponse, older: boolean, max = MAX_TIMELINE): CommandTimeline {
  const merged = applyCommands(timeline, page.commands, Infinity);
  const next = older || !timeline.loaded ? page.next : timeline.next;
  return build(new Map(merged.byId), next, true, timeline.trimmed, max);
}

/** Commands that have not ended yet. */
export function pendingCommands(timeline: CommandTimeline): CommandView[] {
  return timeline.commands.filter((command) => !isFinalCommandState(command.state));
}

const STATE_LABELS: Record<CommandState, string> = {
  queued: 'Queued',
  sent: 'Sent',
  acknowledged: 'Acknowledged',
  succeeded: 'Succeeded',
  failed: 'Failed',
  timed_out: 'Timed out',
  expired: 'Expired',
  cancelled: 'Cancelled',
};

export function commandStateLabel(state: CommandState): string {
  return STATE_LABELS[state] ?? state;
}

/** What a state means for the operator, for a tooltip or a screen reader. */
export function commandStateHint(view: CommandView): string {
  switch (view.state) {
    case 'queued':
      return 'waiting for the device (offline, or busy with earlier commands)';
    case 'sent':
      return 'delivered to the device; no answer yet';
    case 'acknowledged':
      return 'the device is working on it';
    case 'succeeded':
      return 'the device did it';
    case 'failed':
      return view.error ? `the device could not do it: ${view.error}` : 'the device could not do it';
    case 'timed_out':
      return 'the device did not answer in time; it may or may not have done it';
    case 'expired':
      return 'never delivered: the device did not connect before the command expired';
    case 'cancelled':
      return view.error ?? 'cancelled before it ended';
  }
}

/**
 * Said under a command that timed out: a device that was asleep or slow may
 * still carry it out when it gets it, and an answer it sends then is shown
 * (FP-4.4: the hub ends the command, the device may not know).
 */
export const TIMED_OUT_NOTE = 'The device did not answer in time. It may still carry the command out when it gets it (a device that was asleep, when it wakes); if it answers later, the answer shows here.';

/** A result that arrived after the command ended: what the device did, and that the hub's outcome stays. */
export function lateResultText(command: CommandView, late: NonNullable<CommandView['late']>[number]): string {
  const what =
    late.status === 'succeeded'
      ? 'The device carried it out after all'
      : late.status === 'failed'
        ? `The device answered that it failed${late.error ? `: ${late.error}` : ''}`
        : 'The device said it was working on it';
  return `${what} (a late answer, ${formatElapsed(late.at - command.createdAt)} after the command was issued; the command stays "${commandStateLabel(command.state)}").`;
}

/** `+120 ms`, `+3.4 s`, `+2 min`: time from the command's creation to a transition. */
export function formatElapsed(ms: number): string {
  if (ms < 1000) return `+${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `+${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  if (ms < 3_600_000) return `+${Math.round(ms / 60_000)} min`;
  return `+${(ms / 3_600_000).toFixed(1)} h`;
}

/** `target: 21.5, mode: "eco"`: a command's parameters in one short line. */
export function formatParams(params: Readonly<Record<string, unknown>>): string {
  return Object.entries(params)
    .map(([key, value]) => `${key}: ${JSON.stringify(value)}`)
    .join(', ');
}
