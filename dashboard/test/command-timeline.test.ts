/**
 * The command timeline: pages, our own POST answers and live `command`
 * events merged in whatever order they arrive, newest command first, each
 * command at the furthest state any source has seen.
 */
import t from 'tap';
import type { CommandState, CommandView } from '@iot-hub/protocol';
import {
  applyCommand,
  applyCommands,
  applyPage,
  commandStateHint,
  commandStateLabel,
  EMPTY_TIMELINE,
  formatElapsed,
  formatParams,
  isAtLeastAsNew,
  lateResultText,
  pendingCommands,
  TIMED_OUT_NOTE,
} from '../src/data/command-timeline.js';

const T0 = 1_750_000_000_000;

/** A command that went through `states`, one per 100 ms from its creation. */
function command(id: string, createdAt: number, states: CommandState[], overrides: Partial<CommandView> = {}): CommandView {
  const transitions = states.map((state, i) => ({ state, at: createdAt + i * 100 }));
  const last = transitions[transitions.length - 1]!;
  return {
    id,
    deviceId: 'plug-1',
    name: 'turn_on',
    params: {},
    state: last.state,
    transitions,
    createdAt,
    updatedAt: last.at,
    timeoutMs: 30_000,
    expiresAt: createdAt + 3_600_000,
    deliveries: states.includes('sent') ? 1 : 0,
    issuedBy: 'admin',
    ...overrides,
  };
}

const ids = (views: readonly CommandView[]) => views.map((view) => view.id);

t.test('live events build the timeline newest first, each command at its latest state', async (t) => {
  let timeline = EMPTY_TIMELINE;
  timeline = applyCommand(timeline, command('c1', T0, ['queued']));
  timeline = applyCommand(timeline, command('c2', T0 + 1000, ['queued']));
  timeline = applyCommand(timeline, command('c1', T0, ['queued', 'sent']));
  timeline = applyCommand(timeline, command('c1', T0, ['queued', 'sent', 'acknowledged', 'succeeded']));
  t.strictSame(ids(timeline.commands), ['c2', 'c1']);
  t.equal(timeline.byId.get('c1')!.state, 'succeeded');
  t.equal(timeline.loaded, false, 'no page yet');
  t.strictSame(ids(pendingCommands(timeline)), ['c2']);
});

t.test('an older view never replaces a newer one (a slow POST answer, a stale page)', async (t) => {
  const sent = command('c1', T0, ['queued', 'sent']);
  const queued = command('c1', T0, ['queued']);
  let timeline = applyCommand(EMPTY_TIMELINE, sent);
  const same = applyCommand(timeline, queued);
  t.equal(same, timeline, 'the 202 answer (queued) arrived after the "sent" event: nothing changes');
  t.equal(applyCommand(timeline, sent), timeline, 'a repeat is no news either');

  // A late result changes neither state nor transitions, but is news.
  const late = { ...command('c1', T0, ['queued', 'sent', 'timed_out']), late: [{ status: 'succeeded' as const, at: T0 + 900 }] };
  timeline = applyCommand(timeline, command('c1', T0, ['queued', 'sent', 'timed_out']));
  timeline = applyCommand(timeline, late);
  t.strictSame(timeline.byId.get('c1')!.late, [{ status: 'succeeded', at: T0 + 900 }]);
  t.ok(isAtLeastAsNew(late, command('c1', T0, ['queued', 'sent', 'timed_out'])));
  t.notOk(isAtLeastAsNew(queued, sent));
});

t.test('the first page merges with events that came during the fetch; older pages follow the cursor', async (t) => {
  // While GET /commands was in flight, c3 was created and c2 went on to succeed.
  let timeline = applyCommands(EMPTY_TIMELINE, [command('c3', T0 + 3000, ['queued']), command('c2', T0 + 2000, ['queued', 'sent', 'succeeded'])]);
  timeline = applyPage(timeline, { commands: [command('c2', T0 + 2000, ['queued', 'sent']), command('c1', T0 + 1000, ['queued', 'sent', 'failed'])], next: 'cur-1' }, false);
  t.equal(timeline.loaded, true);
  t.equal(timeline.next, 'cur-1');
  t.strictSame(ids(timeline.commands), ['c3', 'c2', 'c1']);
  t.equal(timeline.byId.get('c2')!.state, 'succeeded', 'the event knew better than the page');

  timeline = applyPage(timeline, { commands: [command('c0', T0, ['queued', 'expired'])], next: null }, true);
  t.strictSame(ids(timeline.commands), ['c3', 'c2', 'c1', 'c0']);
  t.equal(timeline.next, null, 'no more pages');

  // A refresh after a reconnect (not an older page) keeps the cursor where paging got to.
  const refreshed = applyPage(timeline, { commands: [command('c3', T0 + 3000, ['queued', 'sent'])], next: 'cur-1' }, false);
  t.equal(refreshed.next, null);
  t.equal(refreshed.byId.get('c3')!.state, 'sent');
});

t.test('the timeline is capped; the oldest go and paging stops', async (t) => {
  let timeline = applyPage(EMPTY_TIMELINE, { commands: [command('c1', T0 + 1, ['queued']), command('c0', T0, ['queued'])], next: 'more' }, false, 3);
  timeline = applyCommand(timeline, command('c2', T0 + 2, ['queued']), 3);
  t.equal(timeline.trimmed, false);
  timeline = applyCommand(timeline, command('c3', T0 + 3, ['queued']), 3);
  t.strictSame(ids(timeline.commands), ['c3', 'c2', 'c1']);
  t.equal(timeline.byId.has('c0'), false);
  t.equal(timeline.trimmed, true);
  t.equal(timeline.next, null, 'older pages cannot follow a gap');
});

t.test('same creation time: ordered by id, newest id first', async (t) => {
  const timeline = applyCommands(EMPTY_TIMELINE, [command('a', T0, ['queued']), command('b', T0, ['queued'])]);
  t.strictSame(ids(timeline.commands), ['b', 'a']);
});

t.test('labels and hints for every state', async (t) => {
  t.equal(commandStateLabel('timed_out'), 'Timed out');
  t.equal(commandStateLabel('acknowledged'), 'Acknowledged');
  t.equal(commandStateHint(command('x', T0, ['queued', 'sent', 'failed'], { error: 'relay stuck' })), 'the device could not do it: relay stuck');
  t.match(commandStateHint(command('x', T0, ['queued', 'sent', 'timed_out'])), /may or may not have done it/);
  for (const state of ['queued', 'sent', 'acknowledged', 'succeeded', 'failed', 'timed_out', 'expired', 'cancelled'] as const) {
    t.ok(commandStateHint(command('x', T0, [state])).length > 0, state);
  }
});

t.test('elapsed times and parameters in one line', async (t) => {
  t.equal(formatElapsed(0), '+0 ms');
  t.equal(formatElapsed(340), '+340 ms');
  t.equal(formatElapsed(3400), '+3.4 s');
  t.equal(formatElapsed(34_000), '+34 s');
  t.equal(formatElapsed(120_000), '+2 min');
  t.equal(formatElapsed(5_400_000), '+1.5 h');
  t.equal(formatParams({ target: 21.5, mode: 'eco' }), 'target: 21.5, mode: "eco"');
  t.equal(formatParams({}), '');
});

t.test('a timed-out command says it may still run; a late answer says what the device did', async (t) => {
  const timedOut = command('c9', T0, ['queued', 'sent', 'timed_out']);
  t.match(TIMED_OUT_NOTE, /may still carry the command out/);
  t.equal(
    lateResultText(timedOut, { status: 'succeeded', at: T0 + 42_000 }),
    'The device carried it out after all (a late answer, +42 s after the command was issued; the command stays "Timed out").',
  );
  t.equal(
    lateResultText(timedOut, { status: 'failed', at: T0 + 1_500, error: 'relay stuck' }),
    'The device answered that it failed: relay stuck (a late answer, +1.5 s after the command was issued; the command stays "Timed out").',
  );
});
