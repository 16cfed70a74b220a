import t, { type Test } from 'tap';
import type { DeviceView, PresenceInfo } from '@iot-hub/protocol';
import { DeviceStore, countPresence, type DeviceState, type FrameScheduler } from '../src/data/device-store.js';

const T0 = 1_750_000_000_000;

function device(id: string, overrides: Partial<DeviceView> = {}): DeviceView {
  return {
    id,
    kind: 'sensor',
    name: id,
    room: null,
    labels: [],
    createdAt: T0 - 1000,
    presence: { status: 'offline', since: T0 - 1000, reason: 'never-connected', transport: null },
    lastSeen: null,
    latest: {},
    capabilities: null,
    stats: { messages: 0, duplicates: 0, seqGaps: 0, seqResets: 0, errors: 0 },
    ...overrides,
  };
}

const online = (since: number): PresenceInfo => ({ status: 'online', since, reason: 'connected', transport: 'mqtt' });

/** A frame scheduler the test drives by hand: `frame()` runs what was scheduled. */
function manualFrames() {
  let pending: (() => void) | null = null;
  let scheduled = 0;
  const schedule: FrameScheduler = (callback) => {
    scheduled++;
    pending = callback;
    return () => {
      if (pending === callback) pending = null;
    };
  };
  return {
    schedule,
    get scheduled() {
      return scheduled;
    },
    get pending() {
      return pending !== null;
    },
    frame() {
      const run = pending;
      pending = null;
      run?.();
    },
  };
}

function setup(t: Test) {
  const frames = manualFrames();
  const store = new DeviceStore({ schedule: frames.schedule });
  const published: DeviceState[] = [];
  store.subscribe((state) => published.push(state));
  t.teardown(() => store.dispose());
  return { frames, store, published };
}

t.test('a snapshot then events, published once per frame', async (t) => {
  const { frames, store, published } = setup(t);
  t.equal(store.state.synced, false, 'not synced before the first snapshot');

  store.applySnapshot([device('a'), device('b', { presence: online(T0) })]);
  t.equal(published.length, 0, 'nothing is published before the frame');
  frames.frame();
  t.equal(published.length, 1);
  t.equal(published[0]?.synced, true);
  t.strictSame(published[0]?.counts, { online: 1, offline: 1, unknown: 0, total: 2 });

  store.applyEvent({ event: 'presence', deviceId: 'a', presence: online(T0 + 10), lastSeen: T0 + 10 });
  store.applyEvent({ event: 'telemetry', deviceId: 'a', ts: T0 + 20, metrics: { temperature: 21.5 } });
  store.applyEvent({ event: 'telemetry', deviceId: 'a', ts: T0 + 30, metrics: { temperature: 21.7, humidity: 40 } });
  store.applyEvent({ event: 'telemetry', deviceId: 'b', ts: T0 + 40, metrics: { on: true } });
  t.equal(frames.scheduled, 2, 'four events asked for one more frame, not four');
  t.equal(published.length, 1, 'and nobody heard of them yet');
  frames.frame();
  t.equal(published.length, 2, 'one notification for the whole batch');

  const state = published[1]!;
  const a = state.devices.get('a')!;
  t.equal(a.presence.status, 'online');
  t.strictSame(a.latest, { temperature: { value: 21.7, ts: T0 + 30 }, humidity: { value: 40, ts: T0 + 30 } });
  t.equal(a.lastSeen, T0 + 30);
  t.strictSame(state.devices.get('b')!.latest, { on: { value: true, ts: T0 + 40 } });
  t.strictSame(state.counts, { online: 2, offline: 0, unknown: 0, total: 2 });
  t.equal(state.version, 2);

  frames.frame();
  t.equal(published.length, 2, 'a frame with no changes publishes nothing');
});

t.test('published states are immutable; unchanged devices keep their identity', async (t) => {
  const { frames, store, published } = setup(t);
  const input = [device('a'), device('b')];
  store.applySnapshot(input);
  frames.frame();
  const first = published[0]!;
  const firstA = first.devices.get('a')!;
  const firstB = first.devices.get('b')!;

  store.applyEvent({ event: 'telemetry', deviceId: 'a', ts: T0, metrics: { temperature: 20 } });
  frames.frame();
  const second = published[1]!;
  t.not(second.devices, first.devices, 'a changed frame brings a new Map');
  t.not(second.devices.get('a'), firstA, 'the changed device is a new object');
  t.equal(second.devices.get('b'), firstB, 'the unchanged one is the same object');
  t.strictSame(firstA.latest, {}, 'the earlier state was not touched');
  t.strictSame(input[0]!.latest, {}, 'nor the snapshot the caller passed in');
  t.equal(first.devices.size, 2);
});

t.test('a late sample does not hide a newer value', async (t) => {
  const { frames, store, published } = setup(t);
  store.applySnapshot([device('a', { latest: { temperature: { value: 22, ts: T0 + 100 } }, lastSeen: T0 + 100 })]);
  store.applyEvent({ event: 'telemetry', deviceId: 'a', ts: T0 + 50, metrics: { temperature: 18, humidity: 30 } });
  frames.frame();
  const a = published.at(-1)!.devices.get('a')!;
  t.strictSame(a.latest, { temperature: { value: 22, ts: T0 + 100 }, humidity: { value: 30, ts: T0 + 50 } });
  t.equal(a.lastSeen, T0 + 100, 'lastSeen never goes back');
});

t.test('metric names of Object.prototype are values like any other', async (t) => {
  const { frames, store, published } = setup(t);
  // Parsed, as frames are: a literal's __proto__ would set a prototype instead of naming a key.
  store.applySnapshot([device('a', { latest: JSON.parse(`{"__proto__":{"value":1,"ts":${T0}}}`) as DeviceView['latest'] })]);
  const metrics = JSON.parse('{"__proto__":5,"constructor":6,"toString":7}') as Record<string, number>;
  store.applyEvent({ event: 'telemetry', deviceId: 'a', ts: T0 + 10, metrics });
  frames.frame();
  const { latest } = published.at(-1)!.devices.get('a')!;
  t.same(
    ['__proto__', 'constructor', 'toString'].map((n) => Object.hasOwn(latest, n) && latest[n]?.value),
    [5, 6, 7],
  );
  t.equal(Object.getPrototypeOf(latest), Object.prototype, 'the prototype is untouched');
});

t.test('devices added, updated and removed', async (t) => {
  const { frames, store, published } = setup(t);
  store.applySnapshot([device('a'), device('b')]);
  frames.frame();

  store.applyEvent({ event: 'device', action: 'added', device: device('c', { kind: 'plug' }) });
  store.applyEvent({ event: 'device', action: 'updated', device: device('a', { name: 'Kitchen' }) });
  store.applyEvent({ event: 'device', action: 'removed', deviceId: 'b' });
  frames.frame();
  const state = published.at(-1)!;
  t.strictSame([...state.devices.keys()].sort(), ['a', 'c']);
  t.equal(state.devices.get('a')!.name, 'Kitchen');
  t.equal(state.devices.get('c')!.kind, 'plug');
  t.equal(state.counts.total, 2);
  t.equal(published[0]!.devices.has('b'), true, 'the earlier state still has the removed device');

  const before = published.length;
  store.applyEvent({ event: 'device', action: 'removed', deviceId: 'nobody' });
  store.applyEvent({ event: 'telemetry', deviceId: 'nobody', ts: T0, metrics: { x: 1 } });
  store.applyEvent({ event: 'presence', deviceId: 'nobody', presence: online(T0), lastSeen: T0 });
  t.equal(frames.pending, false, 'events about unknown devices change nothing and schedule nothing');
  frames.frame();
  t.equal(published.length, before);
});

t.test('a device removed and events for it in the same frame', async (t) => {
  const { frames, store, published } = setup(t);
  store.applySnapshot([device('a')]);
  frames.frame();
  store.applyEvent({ event: 'telemetry', deviceId: 'a', ts: T0, metrics: { temperature: 20 } });
  store.applyEvent({ event: 'device', action: 'removed', deviceId: 'a' });
  store.applyEvent({ event: 'telemetry', deviceId: 'a', ts: T0 + 1, metrics: { temperature: 21 } });
  frames.frame();
  t.equal(published.at(-1)!.devices.size, 0);
});

t.test('overflow marks the state stale until the resync snapshot replaces it', async (t) => {
  const { frames, store, published } = setup(t);
  store.applySnapshot([device('a'), device('b')]);
  frames.frame();

  store.applyEvent({ event: 'overflow', dropped: 12 });
  frames.frame();
  t.equal(published.at(-1)!.stale, true, 'stale after overflow');
  t.equal(published.at(-1)!.devices.size, 2, 'the last known devices stay visible meanwhile');

  // Events keep arriving before the snapshot; the snapshot then wins.
  store.applyEvent({ event: 'telemetry', deviceId: 'a', ts: T0, metrics: { temperature: 19 } });
  store.applySnapshot([
    device('a', { latest: { temperature: { value: 23, ts: T0 + 500 } }, presence: online(T0) }),
    device('c'),
  ]);
  frames.frame();
  const state = published.at(-1)!;
  t.equal(state.stale, false, 'the snapshot clears stale');
  t.strictSame([...state.devices.keys()].sort(), ['a', 'c'], 'the snapshot replaces, not merges');
  t.strictSame(state.devices.get('a')!.latest, { temperature: { value: 23, ts: T0 + 500 } });
  t.strictSame(state.counts, { online: 1, offline: 1, unknown: 0, total: 2 });
});

t.test('a snapshot for some devices replaces only those; the store is then not complete', async (t) => {
  const { frames, store, published } = setup(t);
  store.applySnapshot([device('a'), device('b'), device('c')]);
  frames.frame();
  t.equal(published.at(-1)!.complete, true, 'a snapshot of every device is complete');
  const before = published.at(-1)!;

  // A device page subscribes to `b` (and to `gone`, deleted meanwhile).
  store.applySnapshot([device('b', { presence: online(T0) })], ['b', 'gone']);
  frames.frame();
  let state = published.at(-1)!;
  t.equal(state.complete, false, 'only some devices are followed now');
  t.equal(state.synced, true);
  t.strictSame([...state.devices.keys()].sort(), ['a', 'b', 'c'], 'the others are kept');
  t.equal(state.devices.get('a'), before.devices.get('a'), 'unchanged, by identity');
  t.equal(state.devices.get('b')!.presence.status, 'online');
  t.equal(before.devices.get('b')!.presence.status, 'offline', 'the previous state was not touched');

  // A device of the scope missing from the snapshot no longer exists.
  store.applySnapshot([], ['c']);
  frames.frame();
  state = published.at(-1)!;
  t.strictSame([...state.devices.keys()].sort(), ['a', 'b']);

  store.applySnapshot([device('a')]);
  frames.frame();
  t.equal(published.at(-1)!.complete, true, 'back to every device');
  t.strictSame([...published.at(-1)!.devices.keys()], ['a']);
});

t.test('flush publishes at once; dispose cancels the pending frame', async (t) => {
  const { frames, store, published } = setup(t);
  store.applySnapshot([device('a')]);
  store.flush();
  t.equal(published.length, 1);
  t.equal(frames.pending, false, 'flush cancelled the frame');

  store.applyEvent({ event: 'telemetry', deviceId: 'a', ts: T0, metrics: { temperature: 20 } });
  t.equal(frames.pending, true);
  store.dispose();
  t.equal(frames.pending, false, 'dispose cancelled the frame');
});

t.test('a throwing listener does not stop the others', async (t) => {
  const { frames, store, published } = setup(t);
  const errors: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => errors.push(args);
  t.teardown(() => {
    console.error = original;
  });
  store.subscribe(() => {
    throw new Error('boom');
  });
  let after = 0;
  store.subscribe(() => after++);
  store.applySnapshot([device('a')]);
  frames.frame();
  t.equal(published.length, 1);
  t.equal(after, 1);
  t.equal(errors.length, 1);
});

t.test('without requestAnimationFrame (Node) the default scheduler coalesces on a timer', async (t) => {
  t.equal(typeof (globalThis as { requestAnimationFrame?: unknown }).requestAnimationFrame, 'undefined');
  const store = new DeviceStore();
  t.teardown(() => store.dispose());
  const published: DeviceState[] = [];
  const notified = new Promise<void>((resolve) =>
    store.subscribe((state) => {
      published.push(state);
      resolve();
    }),
  );
  store.applySnapshot([device('a')]);
  for (let i = 0; i < 100; i++) {
    store.applyEvent({ event: 'telemetry', deviceId: 'a', ts: T0 + i, metrics: { n: i } });
  }
  await notified;
  // Give a second frame the chance to (wrongly) fire.
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(published.length, 1, '101 changes, one notification');
  t.strictSame(published[0]!.devices.get('a')!.latest, { n: { value: 99, ts: T0 + 99 } });
});

t.test('countPresence', async (t) => {
  t.strictSame(
    countPresence([
      device('a', { presence: online(T0) }),
      device('b'),
      device('c', { presence: { status: 'unknown', since: T0, reason: 'hub-restart', transport: null } }),
      device('d', { presence: online(T0) }),
    ]),
    { online: 2, offline: 1, unknown: 1, total: 4 },
  );
});
