/**
 * The overview list's view: search, filters and sort, kept in the URL
 * fragment after the path (`#/?q=hall&presence=offline&sort=lastSeen`), so a
 * view is shareable, survives a reload and comes back with the browser's
 * Back button. Defaults are left out of the URL. No DOM.
 *
 * Sorting is a table of comparators, one per key, each putting trouble
 * first in the ascending direction. The `alerts` key reads the open alerts
 * passed in a SortContext: firing first, then pending.
 */
import type { AlertSeverity, DeviceView, PresenceStatus } from '@iot-hub/protocol';
import { NO_FILTER, type OverviewFilter } from './overview.js';

export type SortKey = 'name' | 'kind' | 'presence' | 'lastSeen' | 'battery' | 'alerts';

export interface ListView extends OverviewFilter {
  sort: SortKey;
  /** Reverse of the key's natural (trouble-first) order. */
  desc: boolean;
}

export const DEFAULT_VIEW: ListView = Object.freeze({ ...NO_FILTER, sort: 'name', desc: false });

const PRESENCE_FILTERS: ReadonlySet<string> = new Set(['all', 'online', 'offline', 'unknown']);

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** What a sort may read besides the devices: their open alerts (data/alert-store.ts). */
export interface SortContext {
  alerts?: ReadonlyMap<string, { firing: number; pending: number; worst: AlertSeverity }>;
}

type Compare = (a: DeviceView, b: DeviceView, context?: SortContext) => number;

const SEVERITY_ORDER: Record<AlertSeverity, number> = { critical: 0, warning: 1, info: 2 };

/** Firing first (worst severity first, then most firing), then pending, then none. */
function alertRank(device: DeviceView, context: SortContext = {}): number {
  const summary = context.alerts?.get(device.id);
  if (summary === undefined) return 10_000_000;
  const severity = SEVERITY_ORDER[summary.worst];
  return summary.firing > 0 ? severity * 100_000 - Math.min(summary.firing, 99_999) : 1_000_000 + severity * 100_000 - Math.min(summary.pending, 99_999);
}

/** Offline first, then unknown, then online: what needs a look comes first. */
const PRESENCE_RANK: Record<PresenceStatus, number> = { offline: 0, unknown: 1, online: 2 };

/** The metric a battery sort reads; devices without it sort last in either direction. */
export const BATTERY_METRIC = 'battery';

function battery(device: DeviceView): number | null {
  const latest = Object.hasOwn(device.latest, BATTERY_METRIC) ? device.latest[BATTERY_METRIC] : undefined;
  return typeof latest?.value === 'number' ? latest.value : null;
}

export const byName: Compare = (a, b) => collator.compare(a.name || a.id, b.name || b.id) || collator.compare(a.id, b.id);

export interface SortSpec {
  label: string;
  /** Ascending: trouble first. */
  compare: Compare;
  /** True when a device's live data moves it (presence, readings), not only its name or kind. */
  live: boolean;
  /** Devices this key cannot rank (no battery): last in both directions. */
  unranked?: (device: DeviceView) => boolean;
}

export const SORTS: Readonly<Record<SortKey, SortSpec>> = Object.freeze({
  name: { label: 'Name', compare: byName, live: false },
  kind: { label: 'Kind', compare: (a, b) => collator.compare(a.kind, b.kind) || byName(a, b), live: false },
  presence: {
    label: 'Presence (offline first)',
    compare: (a, b) => PRESENCE_RANK[a.presence.status] - PRESENCE_RANK[b.presence.status] || byName(a, b),
    live: true,
  },
  lastSeen: {
    label: 'Last seen (longest ago first)',
    // Never seen is the longest ago.
    compare: (a, b) => (a.lastSeen ?? -Infinity) - (b.lastSeen ?? -Infinity) || byName(a, b),
    live: true,
  },
  battery: {
    label: 'Battery (lowest first)',
    compare: (a, b) => ((battery(a) as number) - (battery(b) as number)) || byName(a, b),
    live: true,
    unranked: (device) => battery(device) === null,
  },
  alerts: {
    label: 'Alerts (firing first)',
    compare: (a, b, context) => alertRank(a, context) - alertRank(b, context) || byName(a, b),
    live: true,
  },
});

export const SORT_KEYS = Object.keys(SORTS) as SortKey[];

function isSortKey(value: string | null): value is SortKey {
  return value !== null && Object.hasOwn(SORTS, value);
}

/** The devices in the view's order (a new array; the input is not changed). */
export function sortDevices(devices: Iterable<DeviceView>, sort: SortKey, desc: boolean, context: SortContext = {}): DeviceView[] {
  const spec = SORTS[sort];
  const ranked: DeviceView[] = [];
  const unranked: DeviceView[] = [];
  for (const device of devices) (spec.unranked?.(device) ? unranked : ranked).push(device);
  ranked.sort(desc ? (a, b) => spec.compare(b, a, context) : (a, b) => spec.compare(a, b, context));
  return unranked.length === 0 ? ranked : ranked.concat(unranked.sort(byName));
}

/** The view a fragment's query part names; unknown or malformed values fall back to the default. */
export function parseListView(query: string): ListView {
  const params = new URLSearchParams(query);
  const presence = params.get('presence');
  const sort = params.get('sort');
  return {
    query: params.get('q') ?? '',
    presence: presence !== null && PRESENCE_FILTERS.has(presence) ? (presence as ListView['presence']) : 'all',
    kind: params.get('kind') ?? '',
    room: params.get('room') ?? '',
    alertsOnly: params.get('alerts') === '1',
    sort: isSortKey(sort) ? sort : DEFAULT_VIEW.sort,
    desc: params.get('dir') === 'desc',
  };
}

/** The query part (without `?`) for a view: only what differs from the default, in a fixed order. */
export function listViewQuery(view: ListView): string {
  const params = new URLSearchParams();
  if (view.query !== '') params.set('q', view.query);
  if (view.presence !== 'all') params.set('presence', view.presence);
  if (view.kind !== '') params.set('kind', view.kind);
  if (view.room !== '') params.set('room', view.room);
  if (view.alertsOnly) params.set('alerts', '1');
  if (view.sort !== DEFAULT_VIEW.sort) params.set('sort', view.sort);
  if (view.desc) params.set('dir', 'desc');
  // Spaces as %20, not +: the fragment is read back by URLSearchParams either way, and %20 reads better when shared.
  return params.toString().replace(/\+/g, '%20');
}

/**
 * What a row signals at a glance: offline, unknown, or quiet (online, but
 * not heard from for longer than the heartbeat it declared), else null.
 */
export type RowSignal = 'offline' | 'unknown' | 'quiet' | null;

export function rowSignal(device: Pick<DeviceView, 'presence' | 'lastSeen' | 'capabilities'>, now: number): RowSignal {
  const { status } = device.presence;
  if (status !== 'online') return status;
  const heartbeatSec = device.capabilities?.heartbeatSec;
  if (heartbeatSec !== undefined && device.lastSeen !== null && now - device.lastSeen > heartbeatSec * 1000) return 'quiet';
  return null;
}
