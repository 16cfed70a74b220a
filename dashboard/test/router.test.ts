import t from 'tap';
import { chartPointBudget } from '../src/data/history.js';
import { deviceHref, interestCovers, interestFor, parseRoute, routeHash, sameRoute } from '../src/data/router.js';
import { takeTokenFromHash } from '../src/data/token-storage.js';

t.test('the overview is the empty fragment and #/', async (t) => {
  for (const hash of ['', '#', '#/', '/', '#//']) t.strictSame(parseRoute(hash), { page: 'overview' }, JSON.stringify(hash));
});

t.test('a device page', async (t) => {
  t.strictSame(parseRoute('#/devices/plug-1'), { page: 'device', deviceId: 'plug-1' });
  t.strictSame(parseRoute('#/devices/plug-1/'), { page: 'device', deviceId: 'plug-1' }, 'a trailing slash is fine');
  t.strictSame(parseRoute('#/devices/a%2Fb%20c'), { page: 'device', deviceId: 'a/b c' }, 'ids are escaped');
  t.equal(deviceHref('a/b c'), '#/devices/a%2Fb%20c');
  t.strictSame(parseRoute(deviceHref('ünïcode.1_~')), { page: 'device', deviceId: 'ünïcode.1_~' }, 'round trip');
});

t.test('anything else is not found, with its path', async (t) => {
  t.strictSame(parseRoute('#/devices'), { page: 'not-found', path: '/devices' });
  t.strictSame(parseRoute('#/devices/a/b'), { page: 'not-found', path: '/devices/a/b' });
  t.strictSame(parseRoute('#/devices/%E0%A4%A'), { page: 'not-found', path: '/devices/%E0%A4%A' }, 'malformed escapes');
  t.strictSame(parseRoute('#/settings'), { page: 'not-found', path: '/settings' });
  t.strictSame(parseRoute('#/alerts'), { page: 'alerts', tab: 'current' });
  t.strictSame(parseRoute('#/alerts/history'), { page: 'alerts', tab: 'history' });
  t.strictSame(parseRoute('#/alerts/other'), { page: 'not-found', path: '/alerts/other' });
  t.strictSame(parseRoute('#/rules'), { page: 'rules' });
  t.equal(routeHash({ page: 'alerts', tab: 'history' }), '#/alerts/history');
  t.equal(routeHash({ page: 'rules' }), '#/rules');
  t.equal(routeHash({ page: 'not-found', path: '/settings' }), '#/settings');
});

t.test('the #token= sign-in link works with a route in the same fragment', async (t) => {
  // token-storage strips the token and keeps the rest; the route is read from what is left.
  const { token, hash } = takeTokenFromHash('#/devices/plug-1&token=abc');
  t.equal(token, 'abc');
  t.strictSame(parseRoute(hash), { page: 'device', deviceId: 'plug-1' });
  t.strictSame(parseRoute(takeTokenFromHash('#token=abc&/devices/plug-1').hash), { page: 'device', deviceId: 'plug-1' });
  t.strictSame(parseRoute('#token=abc'), { page: 'overview' }, 'a bare token link is the overview');
});

t.test('sameRoute', async (t) => {
  t.ok(sameRoute({ page: 'overview' }, parseRoute('')));
  t.ok(sameRoute({ page: 'device', deviceId: 'x' }, parseRoute('#/devices/x')));
  t.notOk(sameRoute({ page: 'device', deviceId: 'x' }, { page: 'device', deviceId: 'y' }));
});

t.test('the live subscription follows the route', async (t) => {
  t.strictSame(interestFor({ page: 'overview' }), { devices: '*', events: ['telemetry', 'presence', 'device', 'alert'] }, 'the overview: no commands or state');
  t.strictSame(interestFor({ page: 'alerts', tab: 'current' }), interestFor({ page: 'overview' }), 'the alerting pages: every device\'s alerts');
  t.strictSame(interestFor({ page: 'device', deviceId: 'plug-1' }), { devices: ['plug-1'], events: ['telemetry', 'presence', 'device', 'command', 'state', 'alert', 'message'] }, 'a device page: everything about its device, raw messages too');
  t.strictSame(interestFor({ page: 'not-found', path: '/x' }), interestFor({ page: 'overview' }));
  t.ok(interestCovers(interestFor({ page: 'device', deviceId: 'plug-1' }), 'plug-1'), 'which covers what the page needs');
  t.notOk(interestCovers(interestFor({ page: 'device', deviceId: 'plug-1' }), 'plug-2'));
  t.notOk(interestCovers(interestFor({ page: 'overview' }), 'plug-1'), 'the overview subscription does not');
  t.ok(interestCovers({ devices: '*' }, 'plug-1'));
});

t.test('charts ask for about one point per pixel of their width', async (t) => {
  t.equal(chartPointBudget(1280), 608, 'two columns at 1280 px');
  t.equal(chartPointBudget(390), 326, 'one on a phone');
  t.equal(chartPointBudget(5000), 449, 'more columns on a wide screen, each about as wide');
  t.equal(chartPointBudget(0), 320, 'a window too small to measure still asks for something');
});
