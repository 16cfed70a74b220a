/** The overview's feed: sparklines from live telemetry, history fetched for rows on screen, a few at a time. */
import t from 'tap';
import type { DashboardEvent, DeviceView, HistoryResponse } from '@iot-hub/protocol';
import type { ReactiveControllerHost } from 'lit';
import { OverviewFeedController, type FeedSession } from '../src/controllers/overview-feed-controller.js';

const device = (id: string): DeviceView => ({
  id,
  kind: 'thermostat',
  name: id,
  room: null,
  labels: [],
  createdAt: 0,
  presence: { status: 'online', since: 0, reason: 'connected' } as DeviceView['presence'],
  lastSeen: null,
  latest: {},
  capabilities: { kind: 'thermostat', metrics: { temperature: { type: 'number', unit: '°C' } }, commands: {}, heartbeatSec: 60 },
  stats: { messages: 0, duplicates: 0, seqGaps: 0, seqResets: 0, errors: 0 },
});

function fakeSession(ids: string[]) {
  let listener: ((event: DashboardEvent) => void) | null = null;
  const requested: string[] = [];
  const pending: Array<() => void> = [];
  const fetch = ((input: string | URL | Request) => {
    const url = new URL(String(input));
    const id = decodeURIComponent(url.pathname.split('/')[3] as string);
    requested.push(id);
    const body: HistoryResponse = { deviceId: id, from: 0, to: Date.now(), bucketMs: 5000, series: [{ metric: 'temperature', points: [{ ts: Date.now() - 60_000, avg: 19, min: 19, max: 19, count: 1 }] }] };
    return new Promise<Response>((resolve) => pending.push(() => resolve(new Response(JSON.stringify(body), { status: 200 }))));
  }) as typeof globalThis.fetch;
  const session = {
    connection: {
      on: (_type: string, fn: (event: DashboardEvent) => void) => {
        listener = fn;
        return () => (listener = null);
      },
    },
    store: { state: { devices: new Map(ids.map((id) => [id, device(id)])) } },
    auth: { token: 'tok', baseUrl: 'http://hub.test', fetch },
  } as unknown as FeedSession;
  return { session, requested, pending, emit: (event: DashboardEvent) => listener?.(event), listening: () => listener !== null };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

t.test('live telemetry feeds sparklines; removed devices are forgotten', async (t) => {
  const host = { addController() {}, requestUpdate() {} } as unknown as ReactiveControllerHost;
  const feed = new OverviewFeedController(host);
  const fake = fakeSession(['a']);
  feed.attach(fake.session);
  const now = Date.now();
  fake.emit({ event: 'telemetry', deviceId: 'a', ts: now - 6000, metrics: { temperature: 20 } });
  fake.emit({ event: 'telemetry', deviceId: 'a', ts: now, metrics: { temperature: 21 } });
  t.same(feed.sparks.points('a', now).map(([, v]) => v), [20, 21]);
  fake.emit({ event: 'device', action: 'removed', deviceId: 'a' });
  t.same(feed.sparks.points('a', now), []);
  feed.attach(null);
  t.notOk(fake.listening(), 'detached from the old session');
});

t.test('history for rows on screen, three at a time; rows scrolled past before their turn are skipped', async (t) => {
  let updates = 0;
  const host = { addController() {}, requestUpdate: () => updates++ } as unknown as ReactiveControllerHost;
  const feed = new OverviewFeedController(host);
  const fake = fakeSession(['a', 'b', 'c', 'd', 'e']);
  feed.attach(fake.session);
  feed.showRows(['a', 'b', 'c', 'd']);
  t.same(fake.requested, ['a', 'b', 'c'], 'three in flight');
  feed.showRows(['c', 'e']);
  for (const resolve of fake.pending.splice(0)) resolve();
  await flush();
  await flush();
  t.same(fake.requested, ['a', 'b', 'c', 'e'], '"d" left the screen before its turn');
  t.ok(updates >= 3, 'the host re-renders as history lands');
  t.equal(feed.sparks.points('a', Date.now()).length, 1);
  feed.showRows(['a', 'e']);
  t.same(fake.requested, ['a', 'b', 'c', 'e'], 'each device once');
});

t.test('the rate follows within its window, and the host hears when it drops to 0 with no event to trigger it', async (t) => {
  let updates = 0;
  const host = { addController() {}, requestUpdate: () => updates++ } as unknown as ReactiveControllerHost;
  const feed = new OverviewFeedController(host, 50);
  const fake = fakeSession(['a']);
  feed.hostConnected();
  feed.attach(fake.session);
  t.teardown(() => feed.hostDisconnected());
  const now = Date.now();
  for (let s = 1; s <= 3; s++) for (let i = 0; i < 20; i++) feed.rate.mark(now - s * 1000);
  t.equal(feed.currentRate(now), 20, 'the average of the last 3 completed seconds');
  t.equal(feed.currentRate(now + 4_000), 0, 'nothing in the last 3 s: 0, not a fading average');
  feed.currentRate(now);
  updates = 0;
  // Wall-clock: the marks above fall out of the window within about 4 s.
  await new Promise((resolve) => setTimeout(resolve, 4_200));
  t.ok(updates >= 1, 'the host was asked to render the new rate');
  t.equal(feed.currentRate(), 0);
  feed.hostDisconnected();
  const after = updates;
  feed.rate.mark(Date.now() - 1000, 50);
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal(updates, after, 'no ticks once the host left the page');
});
