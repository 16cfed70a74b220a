/**
 * Hash routes of the dashboard: `#/` (or nothing) is the overview,
 * `#/devices/{id}` a device's page. Hash routes need nothing from the server
 * (the hub serves one index.html) and keep the `#token=` sign-in link
 * working: the token is one `&`-separated part of the fragment, split off
 * by token-storage before the route is read. The overview keeps its list's
 * search, filters and sort after a `?` (`#/?q=hall&sort=presence`, see
 * data/list-view.ts), so Back, a reload and a shared link show the same list.
 * `#/alerts` (and `#/alerts/history`) and `#/rules` are the alerting pages.
 */

import { DASHBOARD_EVENT_KINDS } from '@iot-hub/protocol';
import { listViewQuery, parseListView } from './list-view.js';
import type { LiveInterest } from './live-connection.js';

/** `query`: the overview list's view, normalized (see listViewQuery); absent for the default view. */
export type Route =
  | { page: 'overview'; query?: string }
  | { page: 'device'; deviceId: string }
  /** The open alerts, or (`history`) every transition, newest first. */
  | { page: 'alerts'; tab: 'current' | 'history' }
  | { page: 'rules' }
  | { page: 'not-found'; path: string };

/**
 * The route part of a fragment: from the first `&`-separated part that
 * starts with `/` on (its query may hold more `&`s), without a `token=` part.
 */
function routePath(hash: string): string {
  const parts = (hash.startsWith('#') ? hash.slice(1) : hash).split('&').filter((part) => !part.startsWith('token='));
  const start = parts.findIndex((part) => part.startsWith('/'));
  return start === -1 ? '/' : parts.slice(start).join('&');
}

export function parseRoute(hash: string): Route {
  const [path = '/', search = ''] = routePath(hash).split(/\?(.*)/s);
  const segments = path.split('/').filter((segment) => segment !== '');
  if (segments.length === 0) {
    const query = listViewQuery(parseListView(search));
    return query === '' ? { page: 'overview' } : { page: 'overview', query };
  }
  if (segments[0] === 'alerts' && segments.length === 1) return { page: 'alerts', tab: 'current' };
  if (segments[0] === 'alerts' && segments[1] === 'history' && segments.length === 2) return { page: 'alerts', tab: 'history' };
  if (segments[0] === 'rules' && segments.length === 1) return { page: 'rules' };
  if (segments[0] === 'devices' && segments.length === 2) {
    try {
      const deviceId = decodeURIComponent(segments[1] as string);
      if (deviceId !== '') return { page: 'device', deviceId };
    } catch {
      // Malformed percent-encoding: no such page.
    }
  }
  return { page: 'not-found', path };
}

/** The fragment (with `#`) that opens `route`. */
export function routeHash(route: Route): string {
  switch (route.page) {
    case 'overview':
      return route.query ? `#/?${route.query}` : '#/';
    case 'device':
      return `#/devices/${encodeURIComponent(route.deviceId)}`;
    case 'alerts':
      return route.tab === 'history' ? '#/alerts/history' : '#/alerts';
    case 'rules':
      return '#/rules';
    case 'not-found':
      return `#${route.path}`;
  }
}

export function deviceHref(deviceId: string): string {
  return routeHash({ page: 'device', deviceId });
}

export function sameRoute(a: Route, b: Route): boolean {
  return routeHash(a) === routeHash(b);
}

/** The same page, whatever the overview's list view: changing a filter is not arriving at a new page. */
export function samePage(a: Route, b: Route): boolean {
  return a.page === 'overview' && b.page === 'overview' ? true : sameRoute(a, b);
}

/** The overview shows every device's presence, latest values and alerts, not their commands or state. */
const OVERVIEW_INTEREST: LiveInterest = Object.freeze({ devices: '*', events: Object.freeze(['telemetry', 'presence', 'device', 'alert'] as const) });

/** A device page wants everything about its device, the inspector's raw messages too. */
const DEVICE_PAGE_EVENTS = DASHBOARD_EVENT_KINDS;

/** What the live socket subscribes to while `route` is shown. */
export function interestFor(route: Route): LiveInterest {
  return route.page === 'device' ? { devices: [route.deviceId], events: DEVICE_PAGE_EVENTS } : OVERVIEW_INTEREST;
}

/** True when a subscription sends everything a device page needs about `deviceId`. */
export function interestCovers(interest: LiveInterest, deviceId: string): boolean {
  const devices = interest.devices === '*' || interest.devices.includes(deviceId);
  const events = interest.events === undefined || (['telemetry', 'command', 'state'] as const).every((kind) => interest.events?.includes(kind));
  return devices && events;
}
