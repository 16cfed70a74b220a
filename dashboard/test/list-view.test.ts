import t from 'tap';
import { DEFAULT_VIEW, listViewQuery, parseListView, rowSignal, sortDevices, SORT_KEYS, type ListView } from '../src/data/list-view.js';
import { parseRoute, routeHash, samePage } from '../src/data/router.js';
import { takeTokenFromHash } from '../src/data/token-storage.js';
import { device, T0 } from './helpers/fake-hub.js';

t.test('a list view round-trips through the URL, defaults left out', async (t) => {
  t.equal(listViewQuery(DEFAULT_VIEW), '', 'the default view is the bare overview');
  const view: ListView = { query: 'living room', presence: 'offline', kind: 'smart-plug', room: 'Kitchen', alertsOnly: true, sort: 'battery', desc: true };
  const query = listViewQuery(view);
  t.equal(query, 'q=living%20room&presence=offline&kind=smart-plug&room=Kitchen&alerts=1&sort=battery&dir=desc');
  t.strictSame(parseListView(query), view);
  t.strictSame(parseListView('q=a%26b%3Dc'), { ...DEFAULT_VIEW, query: 'a&b=c' }, 'escaped characters survive');
});

t.test('unknown or malformed values fall back to the default', async (t) => {
  t.strictSame(parseListView('presence=sleeping&sort=constructor&dir=up&alerts=yes'), DEFAULT_VIEW);
  t.strictSame(parseListView('sort=__proto__'), DEFAULT_VIEW, 'a sort key is an own key of the table');
});

t.test('the overview route carries its view; a device route is unchanged', async (t) => {
  t.strictSame(parseRoute('#/?q=hall&sort=presence'), { page: 'overview', query: 'q=hall&sort=presence' });
  t.strictSame(parseRoute('#/?sort=presence&q=hall'), { page: 'overview', query: 'q=hall&sort=presence' }, 'normalized');
  t.strictSame(parseRoute('#/?sort=name'), { page: 'overview' }, 'a default view is the bare overview');
  t.equal(routeHash({ page: 'overview', query: 'q=hall' }), '#/?q=hall');
  t.strictSame(parseRoute(takeTokenFromHash('#/?q=hall&sort=lastSeen&token=abc').hash), { page: 'overview', query: 'q=hall&sort=lastSeen' }, 'with a sign-in token in the same fragment');
  t.strictSame(parseRoute('#token=abc&/?presence=offline'), { page: 'overview', query: 'presence=offline' }, 'a token part first is skipped');
  t.ok(samePage({ page: 'overview' }, { page: 'overview', query: 'q=x' }), 'a filter is not a new page');
  t.notOk(samePage({ page: 'overview' }, { page: 'device', deviceId: 'x' }));
});

const FLEET = [
  device('b-plug', { name: 'Bravo plug', kind: 'smart-plug', lastSeen: T0 + 5_000, presence: { status: 'online', since: T0, reason: 'connected', transport: 'mqtt' }, latest: { battery: { value: 80, ts: T0 } } }),
  device('a-sensor', { name: 'Alpha sensor', kind: 'sensor', lastSeen: T0 + 1_000, presence: { status: 'offline', since: T0, reason: 'connection-lost', transport: 'mqtt' }, latest: { battery: { value: 12, ts: T0 } } }),
  device('c-light', { name: 'Charlie light', kind: 'dimmable-light', lastSeen: null, presence: { status: 'unknown', since: T0, reason: 'hub-restart', transport: null } }),
  device('d-door', { name: 'Delta door', kind: 'contact-sensor', lastSeen: T0 + 3_000, presence: { status: 'online', since: T0, reason: 'connected', transport: 'ws' }, latest: { battery: { value: 45, ts: T0 } } }),
];
const ids = (list: Array<{ id: string }>) => list.map((d) => d.id);

t.test('every sort puts trouble first ascending, and reverses', async (t) => {
  t.strictSame(SORT_KEYS, ['name', 'kind', 'presence', 'lastSeen', 'battery', 'alerts']);
  t.strictSame(ids(sortDevices(FLEET, 'name', false)), ['a-sensor', 'b-plug', 'c-light', 'd-door']);
  t.strictSame(ids(sortDevices(FLEET, 'name', true)), ['d-door', 'c-light', 'b-plug', 'a-sensor']);
  t.strictSame(ids(sortDevices(FLEET, 'kind', false)), ['d-door', 'c-light', 'a-sensor', 'b-plug']);
  t.strictSame(ids(sortDevices(FLEET, 'presence', false)), ['a-sensor', 'c-light', 'b-plug', 'd-door'], 'offline, unknown, then online by name');
  t.strictSame(ids(sortDevices(FLEET, 'lastSeen', false)), ['c-light', 'a-sensor', 'd-door', 'b-plug'], 'never seen is the longest ago');
  t.strictSame(ids(sortDevices(FLEET, 'battery', false)), ['a-sensor', 'd-door', 'b-plug', 'c-light'], 'lowest first, no battery last');
  t.strictSame(ids(sortDevices(FLEET, 'battery', true)), ['b-plug', 'd-door', 'a-sensor', 'c-light'], 'no battery stays last reversed');
  t.strictSame(ids(FLEET), ['b-plug', 'a-sensor', 'c-light', 'd-door'], 'the input is not changed');
});

t.test('a row signals offline, unknown, and quiet past its declared heartbeat', async (t) => {
  const online = { status: 'online', since: T0, reason: 'connected', transport: 'mqtt' } as const;
  const caps = { kind: 'sensor', metrics: {}, commands: {}, heartbeatSec: 5 };
  t.equal(rowSignal({ presence: online, lastSeen: T0, capabilities: caps }, T0 + 5_000), null, 'at the deadline: fine');
  t.equal(rowSignal({ presence: online, lastSeen: T0, capabilities: caps }, T0 + 5_001), 'quiet');
  t.equal(rowSignal({ presence: online, lastSeen: T0, capabilities: null }, T0 + 600_000), null, 'no declared heartbeat: never quiet');
  t.equal(rowSignal(FLEET[1]!, T0), 'offline');
  t.equal(rowSignal(FLEET[2]!, T0), 'unknown');
});

t.test('the alerts sort: firing first (worst severity, then most), then pending, then the rest by name', async (t) => {
  const alerts = new Map([
    ['d-door', { firing: 0, pending: 2, worst: 'critical' as const }],
    ['c-light', { firing: 1, pending: 0, worst: 'warning' as const }],
    ['b-plug', { firing: 1, pending: 1, worst: 'critical' as const }],
  ]);
  t.strictSame(ids(sortDevices(FLEET, 'alerts', false, { alerts })), ['b-plug', 'c-light', 'd-door', 'a-sensor']);
  t.strictSame(ids(sortDevices(FLEET, 'alerts', true, { alerts })), ['a-sensor', 'd-door', 'c-light', 'b-plug']);
  t.strictSame(ids(sortDevices(FLEET, 'alerts', false)), ['a-sensor', 'b-plug', 'c-light', 'd-door'], 'no alerts: by name');
  t.equal(listViewQuery({ ...DEFAULT_VIEW, sort: 'alerts' }), 'sort=alerts', 'kept in the URL');
  t.equal(parseListView('sort=alerts').sort, 'alerts');
});
