/**
 * The device page's data: fetched once, then kept current from live events,
 * with the races between answers and events settled the same way every
 * time, and nothing used after stop().
 */
import t, { type Test } from 'tap';
import type { CommandListResponse, CommandState, CommandView, DeviceStateView, HistoryResponse } from '@iot-hub/protocol';
import { ApiError, type HistoryQuery } from '../src/data/api.js';
import { DeviceDetail, type DeviceDetailApi, type DeviceDetailState } from '../src/data/device-detail.js';
import type { FrameScheduler } from '../src/data/device-store.js';

const T0 = 1_750_000_000_000;
const HOUR = 3_600_000;
const ID = 'plug-1';

/** A promise the test settles by hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Every call is recorded and waits until the test answers it. */
function fakeApi() {
  const calls = {
    history: [] as Array<{ query: HistoryQuery; signal: AbortSignal; answer: ReturnType<typeof deferred<HistoryResponse>> }>,
    commands: [] as Array<{ page: { limit: number; before?: string }; answer: ReturnType<typeof deferred<CommandListResponse>> }>,
    state: [] as Array<ReturnType<typeof deferred<DeviceStateView>>>,
    send: [] as Array<{ name: string; params: Record<string, unknown>; answer: ReturnType<typeof deferred<CommandView>> }>,
    patch: [] as Array<{ patch: unknown; answer: ReturnType<typeof deferred<DeviceStateView>> }>,
  };
  const api: DeviceDetailApi = {
    getHistory(query, signal) {
      const answer = deferred<HistoryResponse>();
      calls.history.push({ query, signal, answer });
      return answer.promise;
    },
    listCommands(page) {
      const answer = deferred<CommandListResponse>();
      calls.commands.push({ page, answer });
      return answer.promise;
    },
    getState() {
      const answer = deferred<DeviceStateView>();
      calls.state.push(answer);
      return answer.promise;
    },
    sendCommand(name, params) {
      const answer = deferred<CommandView>();
      calls.send.push({ name, params, answer });
      return answer.promise;
    },
    cancelCommand: () => Promise.reject(new Error('not used')),
    patchDesired(patch) {
      const answer = deferred<DeviceStateView>();
      calls.patch.push({ patch, answer });
      return answer.promise;
    },
  };
  return { api, calls };
}

function manualFrames() {
  let pending: (() => void) | null = null;
  const schedule: FrameScheduler = (callback) => {
    pending = callback;
    return () => {
      if (pending === callback) pending = null;
    };
  };
  return {
    schedule,
    frame() {
      const run = pending;
      pending = null;
      run?.();
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

function setup(t: Test) {
  const { api, calls } = fakeApi();
  const frames = manualFrames();
  let now = T0;
  const detail = new DeviceDetail({ deviceId: ID, api, schedule: frames.schedule, now: () => now, maxPoints: 500 });
  const published: DeviceDetailState[] = [];
  detail.subscribe((state) => published.push(state));
  t.teardown(() => detail.stop());
  return {
    detail,
    calls,
    frames,
    published,
    setNow: (ms: number) => (now = ms),
    /** Lets answers settle, then runs the frame. */
    async settle() {
      await tick();
      frames.frame();
      return detail.state;
    },
  };
}

function history(points: Array<[number, number]>, overrides: Partial<HistoryResponse> = {}): HistoryResponse {
  return {
    deviceId: ID,
    from: T0 - HOUR,
    to: T0,
    bucketMs: 0,
    series: [{ metric: 'power', points: points.map(([ts, v]) => ({ ts, avg: v, min: v, max: v, count: 1 })) }],
    ...overrides,
  };
}

function stateView(version: number, reported: Record<string, boolean>, desired: Record<string, boolean> = {}): DeviceStateView {
  const entries = (o: Record<string, boolean>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, { value: v, ts: T0 }]));
  const delta = Object.fromEntries(Object.entries(desired).filter(([k, v]) => reported[k] !== v));
  return { deviceId: ID, version, reportedVersion: null, reported: entries(reported), desired: entries(desired), delta, refused: {} };
}

function command(id: string, states: CommandState[], name = 'turn_on'): CommandView {
  const transitions = states.map((state, i) => ({ state, at: T0 + i }));
  return {
    id,
    deviceId: ID,
    name,
    params: {},
    state: states[states.length - 1]!,
    transitions,
    createdAt: T0,
    updatedAt: transitions[transitions.length - 1]!.at,
    timeoutMs: 30_000,
    expiresAt: T0 + HOUR,
    deliveries: 1,
    issuedBy: 'admin',
  };
}

t.test('start fetches history, state and commands, and publishes once per frame', async (t) => {
  const { detail, calls, published, settle } = setup(t);
  detail.start();
  t.strictSame(calls.history[0]!.query, { from: T0 - HOUR, to: T0, maxPoints: 500 }, 'the last hour, a point per pixel');
  t.strictSame(calls.commands[0]!.page, { limit: 50 });
  t.equal(calls.state.length, 1);
  t.equal(detail.state.history.status, 'loading');

  calls.history[0]!.answer.resolve(history([[T0 - 10_000, 5]]));
  calls.state[0]!.resolve(stateView(1, { on: false }));
  calls.commands[0]!.answer.resolve({ commands: [command('c1', ['queued', 'sent', 'succeeded'])], next: 'older' });
  const state = await settle();
  t.equal(published.length, 1, 'three answers, one publication');
  t.equal(state.history.status, 'ready');
  t.strictSame(state.history.data!.series.get('power')!.avg, [5]);
  t.equal(state.state.view!.version, 1);
  t.equal(state.commands.status, 'ready');
  t.equal(state.commands.timeline.next, 'older');
});

t.test('telemetry extends the chart live; samples during the fetch are kept; other devices are ignored', async (t) => {
  const { detail, calls, settle, setNow } = setup(t);
  detail.start();
  detail.applyEvent({ event: 'telemetry', deviceId: ID, ts: T0 + 1, metrics: { power: 7 } });
  detail.applyEvent({ event: 'telemetry', deviceId: 'someone-else', ts: T0 + 2, metrics: { power: 99 } });
  calls.history[0]!.answer.resolve(history([[T0 - 10_000, 5]]));
  let state = await settle();
  t.strictSame(state.history.data!.series.get('power')!.avg, [5, 7], 'the sample from during the fetch was applied');

  setNow(T0 + 5000);
  detail.applyEvent({ event: 'telemetry', deviceId: ID, ts: T0 + 5000, metrics: { power: 9, on: true } });
  state = await settle();
  t.strictSame(state.history.data!.series.get('power')!.avg, [5, 7, 9]);
  t.strictSame(state.history.data!.series.get('on')!.avg, [1]);
  t.equal(calls.history.length, 1, 'never fetched again');
  t.equal(state.history.data!.to, T0 + 5000, 'the window slid');
});

t.test('a new range fetches again; an answer for the old range is ignored', async (t) => {
  const { detail, calls, settle } = setup(t);
  detail.start();
  detail.setRange({ kind: 'relative', key: '24h' }, 800);
  t.strictSame(calls.history[1]!.query, { from: T0 - 24 * HOUR, to: T0, maxPoints: 800 });
  calls.history[1]!.answer.resolve(history([[T0 - 5 * HOUR, 1]], { from: T0 - 24 * HOUR, bucketMs: 0 }));
  calls.history[0]!.answer.resolve(history([[T0 - 1000, 2]]));
  const state = await settle();
  t.match(state.history.range, { kind: 'relative', key: '24h' });
  t.strictSame(state.history.data!.series.get('power')!.avg, [1]);

  // A custom range in the past is not extended live.
  detail.setRange({ kind: 'custom', from: T0 - 48 * HOUR, to: T0 - 24 * HOUR });
  calls.history[2]!.answer.resolve(history([], { from: T0 - 48 * HOUR, to: T0 - 24 * HOUR }));
  let custom = await settle();
  detail.applyEvent({ event: 'telemetry', deviceId: ID, ts: T0 + 1, metrics: { power: 3 } });
  custom = await settle();
  t.strictSame(custom.history.data!.series.get('power')!.avg, []);
});

t.test('a history error is shown, and a refresh tries again', async (t) => {
  const { detail, calls, settle } = setup(t);
  detail.start();
  calls.history[0]!.answer.reject(new ApiError(503, 'storage_unavailable', 'storage is unavailable, try again later'));
  let state = await settle();
  t.equal(state.history.status, 'error');
  t.equal(state.history.error, 'storage is unavailable, try again later');
  detail.refresh();
  t.equal(calls.history.length, 2);
  t.equal(calls.state.length, 2);
  t.equal(calls.commands.length, 2);
  calls.history[1]!.answer.resolve(history([]));
  state = await settle();
  t.equal(state.history.status, 'ready');
});

t.test('sending a command: posting, accepted, then the timeline follows it; a refusal shows the reason', async (t) => {
  const { detail, calls, settle } = setup(t);
  detail.start();
  calls.commands[0]!.answer.resolve({ commands: [], next: null });
  await settle();

  const sent = detail.send('switch:turn_on', 'turn_on', {});
  detail.flush();
  t.match(detail.state.sends.get('switch:turn_on'), { status: 'posting' });
  t.strictSame(calls.send[0]!.params, {});
  // The "sent" event overtakes the 202 answer (which says queued).
  detail.applyEvent({ event: 'command', command: command('c9', ['queued', 'sent']) });
  calls.send[0]!.answer.resolve(command('c9', ['queued']));
  await sent;
  let state = await settle();
  t.strictSame(state.sends.get('switch:turn_on'), { status: 'accepted', commandId: 'c9' });
  t.equal(state.commands.timeline.byId.get('c9')!.state, 'sent', 'the answer did not move it back');
  detail.applyEvent({ event: 'command', command: command('c9', ['queued', 'sent', 'acknowledged', 'succeeded']) });
  state = await settle();
  t.equal(state.commands.timeline.byId.get('c9')!.state, 'succeeded');

  const refused = detail.send('set_target', 'set_target', { target: 99 });
  calls.send[1]!.answer.reject(new ApiError(422, 'invalid_params', 'the parameters do not match what the device declared: parameter "target" must be at most 30'));
  await refused;
  state = await settle();
  t.match(state.sends.get('set_target'), { status: 'refused', error: /must be at most 30/ });
  t.equal(state.commands.timeline.commands.length, 1, 'a refused command never was one');
});

t.test('state: an event during the fetch wins over the answer; a PATCH answer older than an event is ignored', async (t) => {
  const { detail, calls, settle } = setup(t);
  detail.start();
  detail.applyEvent({ event: 'state', state: stateView(2, { on: true }) });
  calls.state[0]!.resolve(stateView(1, { on: false }));
  let state = await settle();
  t.equal(state.state.view!.version, 2);

  const saving = detail.setDesired('on', false);
  t.strictSame(calls.patch[0]!.patch, { state: { on: false }, ifVersion: 2 }, 'conditional on the version shown');
  detail.flush();
  t.match(detail.state.desiredEdit, { key: 'on', status: 'saving' });
  // The hub announces the change (v3) and then the device's report, before our answer lands.
  detail.applyEvent({ event: 'state', state: stateView(3, { on: true }, { on: false }) });
  detail.applyEvent({ event: 'state', state: stateView(3, { on: false }) });
  calls.patch[0]!.answer.resolve(stateView(3, { on: true }, { on: false }));
  await saving;
  state = await settle();
  t.equal(state.desiredEdit, null);
  t.strictSame(state.state.view!.delta, {}, 'the report that came after the answer was taken stays');
  t.equal(state.state.view!.reported.on!.value, false);
});

t.test('a version conflict says so and reloads the state', async (t) => {
  const { detail, calls, settle } = setup(t);
  detail.start();
  calls.state[0]!.resolve(stateView(4, { on: true }));
  await settle();
  const saving = detail.setDesired('on', false);
  calls.patch[0]!.answer.reject(new ApiError(409, 'version_conflict', 'the desired state changed since that version'));
  await saving;
  const state = await settle();
  t.match(state.desiredEdit, { key: 'on', status: 'error', error: /changed the desired state meanwhile/ });
  t.equal(calls.state.length, 2, 'fetched again');
});

t.test('a desired value the hub refuses (422) keeps the state and shows the hub’s words; removing a key sends null', async (t) => {
  const { detail, calls, settle } = setup(t);
  detail.start();
  calls.state[0]!.resolve(stateView(4, { on: true }, { on: true }));
  await settle();
  const refused = detail.setDesired('on', false);
  const message = 'state key "on" is not settable; settable keys: mode, target';
  calls.patch[0]!.answer.reject(new ApiError(422, 'invalid_desired', message));
  await refused;
  let state = await settle();
  t.strictSame(state.desiredEdit, { key: 'on', status: 'error', error: message }, 'the hub’s message, verbatim');
  t.equal(state.state.view!.version, 4, 'nothing changed');
  t.equal(calls.state.length, 1, 'no reload for a refusal');

  // The operator stops enforcing the key: a conditional patch with null; the answer drops it from desired.
  const removing = detail.setDesired('on', null);
  t.strictSame(calls.patch[1]!.patch, { state: { on: null }, ifVersion: 4 });
  calls.patch[1]!.answer.resolve(stateView(5, { on: true }));
  await removing;
  state = await settle();
  t.equal(state.desiredEdit, null, 'the error cleared with the next edit');
  t.strictSame(state.state.view!.desired, {});
});

t.test('older commands page with the cursor', async (t) => {
  const { detail, calls, settle } = setup(t);
  detail.start();
  calls.commands[0]!.answer.resolve({ commands: [command('c2', ['queued'])], next: 'cur' });
  await settle();
  const older = detail.loadOlderCommands();
  t.strictSame(calls.commands[1]!.page, { limit: 50, before: 'cur' });
  calls.commands[1]!.answer.resolve({ commands: [{ ...command('c1', ['queued', 'expired']), createdAt: T0 - 1 }], next: null });
  await older;
  const state = await settle();
  t.strictSame(state.commands.timeline.commands.map((c) => c.id), ['c2', 'c1']);
  t.equal(state.commands.timeline.next, null);
  await detail.loadOlderCommands();
  t.equal(calls.commands.length, 2, 'nothing more to load');
});

t.test('stop aborts the fetches and nothing is published after it', async (t) => {
  const { detail, calls, published, frames } = setup(t);
  detail.start();
  detail.stop();
  t.equal(calls.history[0]!.signal.aborted, true);
  calls.history[0]!.answer.resolve(history([[T0, 1]]));
  calls.state[0]!.resolve(stateView(1, {}));
  detail.applyEvent({ event: 'state', state: stateView(2, {}) });
  await tick();
  frames.frame();
  t.equal(published.length, 0);
});

t.test('a 404 says the device does not exist; a later answer for it clears that', async (t) => {
  const { detail, calls, settle } = setup(t);
  detail.start();
  calls.state[0]!.reject(new ApiError(404, 'not_found', 'not found: no device "plug-1"'));
  let state = await settle();
  t.equal(state.notFound, true);
  t.equal(state.state.status, 'error');
  detail.reloadState();
  calls.state[1]!.resolve(stateView(0, {}));
  state = await settle();
  t.equal(state.notFound, false, 'provisioned meanwhile');
});

t.test('cancel puts the cancelled command in the timeline, or says why it could not', async (t) => {
  const { api, calls } = fakeApi();
  const frames = manualFrames();
  const answers: Array<ReturnType<typeof deferred<CommandView>>> = [];
  api.cancelCommand = () => {
    const answer = deferred<CommandView>();
    answers.push(answer);
    return answer.promise;
  };
  const detail = new DeviceDetail({ deviceId: ID, api, schedule: frames.schedule, now: () => T0 });
  t.teardown(() => detail.stop());
  detail.start();
  calls.commands[0]!.answer.resolve({ commands: [command('c1', ['queued'])], next: null });
  await tick();
  const cancelled = detail.cancel('c1');
  answers[0]!.resolve(command('c1', ['queued', 'cancelled']));
  t.equal(await cancelled, null);
  detail.flush();
  t.equal(detail.state.commands.timeline.byId.get('c1')!.state, 'cancelled');
  const refused = detail.cancel('c1');
  answers[1]!.reject(new ApiError(409, 'command_finished', 'the command has already ended'));
  t.equal(await refused, 'the command has already ended');
});

t.test('tick slides a live range with the clock', async (t) => {
  const { detail, calls, settle, setNow } = setup(t);
  detail.start();
  calls.history[0]!.answer.resolve(history([[T0 - HOUR + 1000, 1], [T0 - 1000, 2]]));
  await settle();
  setNow(T0 + 5000);
  detail.tick();
  const state = await settle();
  t.equal(state.history.data!.to, T0 + 5000);
  t.strictSame(state.history.data!.series.get('power')!.avg, [2], 'the oldest point slid out');
});
