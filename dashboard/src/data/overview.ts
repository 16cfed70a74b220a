/**
 * The overview's pure parts: which room a device is in, whether it has
 * alerts, the filters of the list, the fleet's message rate and each
 * device's sparkline of the last minutes. No DOM, no sockets.
 *
 * Rooms: the device's `room` when an operator set one. Otherwise a room
 * is derived from the device's name the way people and the simulator name
 * devices ("Living room 2 thermostat", "Kitchen fridge plug"): the words up
 * to and including the first "room", else the first word. A device named
 * only by its id has no room.
 */
import type { DeviceView, HistoryResponse, PresenceStatus } from '@iot-hub/protocol';

export function roomOf(device: Pick<DeviceView, 'id' | 'name' | 'room'>): string | null {
  if (device.room) return device.room;
  const name = device.name.trim();
  if (name === '' || name === device.id) return null;
  const words = name.split(/\s+/);
  if (words.length < 2) return null;
  const roomWord = words.findIndex((word) => /^room$/i.test(word));
  const taken = roomWord > 0 ? words.slice(0, roomWord + 1) : words.slice(0, 1);
  const room = taken.join(' ');
  return room.charAt(0).toUpperCase() + room.slice(1);
}

/**
 * Alerts a row flags: protocol errors the device caused and seq gaps (likely
 * lost readings). The store being degraded concerns every device and has
 * its own banner above the list.
 */
export function deviceAlerts(device: Pick<DeviceView, 'stats'>): string[] {
  const alerts: string[] = [];
  const { errors, seqGaps } = device.stats;
  if (errors > 0) alerts.push(`${errors} protocol error${errors === 1 ? '' : 's'}`);
  if (seqGaps > 0) alerts.push(`${seqGaps} missing reading${seqGaps === 1 ? '' : 's'}`);
  return alerts;
}

export interface OverviewFilter {
  query: string;
  presence: 'all' | PresenceStatus;
  /** A device kind, or '' for every kind. */
  kind: string;
  /** A room (see roomOf), or '' for every room. */
  room: string;
  alertsOnly: boolean;
}

export const NO_FILTER: OverviewFilter = Object.freeze({ query: '', presence: 'all', kind: '', room: '', alertsOnly: false });

export function matchesQuery(device: DeviceView, query: string): boolean {
  if (query === '') return true;
  const needle = query.toLowerCase();
  return [device.id, device.name, device.kind].some((field) => field.toLowerCase().includes(needle));
}

export function matchesFilter(device: DeviceView, filter: OverviewFilter): boolean {
  return (
    (filter.presence === 'all' || device.presence.status === filter.presence) &&
    (filter.kind === '' || device.kind === filter.kind) &&
    (filter.room === '' || roomOf(device) === filter.room) &&
    (!filter.alertsOnly || deviceAlerts(device).length > 0) &&
    matchesQuery(device, filter.query.trim())
  );
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** The kinds and rooms present in the fleet, sorted, for the filters' choices. */
export function facets(devices: Iterable<DeviceView>): { kinds: string[]; rooms: string[] } {
  const kinds = new Set<string>();
  const rooms = new Set<string>();
  for (const device of devices) {
    kinds.add(device.kind);
    const room = roomOf(device);
    if (room !== null) rooms.add(room);
  }
  return { kinds: [...kinds].sort(collator.compare), rooms: [...rooms].sort(collator.compare) };
}

/**
 * The fleet's message rate averages this long: short, so the figure follows
 * a change within a few seconds (a 10 s average lagged 10 s behind), and
 * long enough to smooth the bursts of one-second buckets.
 */
export const RATE_WINDOW_MS = 3_000;

/**
 * Messages per second over the last `windowMs`, from per-second buckets: a
 * ring of counters, so memory is fixed however fast events come.
 */
export class RateMeter {
  private readonly buckets: number[];
  private readonly seconds: number[];
  /** Completed seconds averaged over. */
  private readonly span: number;

  constructor(windowMs = RATE_WINDOW_MS) {
    this.span = Math.max(1, Math.ceil(windowMs / 1000));
    // One more bucket for the second in progress, which must not evict the window's oldest.
    this.buckets = new Array<number>(this.span + 1).fill(0);
    this.seconds = new Array<number>(this.span + 1).fill(-1);
  }

  mark(now: number, count = 1): void {
    const second = Math.floor(now / 1000);
    const i = second % this.buckets.length;
    if (this.seconds[i] !== second) {
      this.seconds[i] = second;
      this.buckets[i] = 0;
    }
    this.buckets[i] = (this.buckets[i] as number) + count;
  }

  /** Events per second over the completed seconds of the window. */
  rate(now: number): number {
    const current = Math.floor(now / 1000);
    let total = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      const second = this.seconds[i] as number;
      if (second < current && second >= current - this.span) total += this.buckets[i] as number;
    }
    return total / this.span;
  }
}

/** A sparkline spans this long, in slots of SLOT_MS: at most SPARK_SLOTS points per device. */
export const SPARK_SPAN_MS = 5 * 60_000;
export const SPARK_SLOT_MS = 5_000;
export const SPARK_SLOTS = SPARK_SPAN_MS / SPARK_SLOT_MS;

/** The metric a device's sparkline shows: its first declared numeric metric, else its first numeric reading. */
export function sparkMetric(device: DeviceView): string | null {
  const declared = device.capabilities?.metrics ?? {};
  for (const [name, spec] of Object.entries(declared)) if (spec.type === 'number') return name;
  for (const [name, latest] of Object.entries(device.latest)) if (typeof latest.value === 'number') return name;
  return null;
}

interface SparkSeries {
  metric: string;
  /** Slot index (ts / SLOT_MS) → last value in that slot; insertion-ordered by time in the common case. */
  slots: Map<number, number>;
}

/**
 * Per-device sparkline points: the last value in each 5 s slot of the last
 * 5 minutes, from live telemetry and (for rows on screen) one small history
 * fetch. Bounded: SPARK_SLOTS points per device, old slots pruned on write.
 */
export class SparkBuffers {
  private readonly series = new Map<string, SparkSeries>();
  /** Bumped when points change, for views to compare. */
  version = 0;

  add(deviceId: string, metric: string, ts: number, value: number): void {
    let s = this.series.get(deviceId);
    if (!s || s.metric !== metric) this.series.set(deviceId, (s = { metric, slots: new Map() }));
    const slot = Math.floor(ts / SPARK_SLOT_MS);
    s.slots.set(slot, value);
    if (s.slots.size > SPARK_SLOTS) {
      const oldest = slot - SPARK_SLOTS;
      for (const key of s.slots.keys()) if (key <= oldest) s.slots.delete(key);
      // Late samples far in the past could still overfill: drop the smallest keys.
      while (s.slots.size > SPARK_SLOTS) s.slots.delete(Math.min(...s.slots.keys()));
    }
    this.version++;
  }

  /** Folds a history answer in (bucket averages), without overwriting live slots. */
  addHistory(deviceId: string, metric: string, history: HistoryResponse): void {
    const points = history.series.find((series) => series.metric === metric)?.points ?? [];
    let s = this.series.get(deviceId);
    if (!s || s.metric !== metric) this.series.set(deviceId, (s = { metric, slots: new Map() }));
    const merged = new Map<number, number>();
    for (const p of points) if (p.count > 0) merged.set(Math.floor(p.ts / SPARK_SLOT_MS), p.avg);
    for (const [slot, value] of s.slots) merged.set(slot, value);
    const keys = [...merged.keys()].sort((a, b) => a - b).slice(-SPARK_SLOTS);
    s.slots = new Map(keys.map((k) => [k, merged.get(k) as number]));
    this.version++;
  }

  forget(deviceId: string): void {
    if (this.series.delete(deviceId)) this.version++;
  }

  /** Points within the span before `now`, sorted by time: [ts, value] pairs. */
  points(deviceId: string, now: number): Array<[number, number]> {
    const s = this.series.get(deviceId);
    if (!s) return [];
    const from = Math.floor((now - SPARK_SPAN_MS) / SPARK_SLOT_MS);
    const out: Array<[number, number]> = [];
    for (const [slot, value] of s.slots) if (slot >= from) out.push([slot * SPARK_SLOT_MS, value]);
    return out.sort((a, b) => a[0] - b[0]);
  }

  get size(): number {
    return this.series.size;
  }
}

/**
 * An SVG polyline's `points` for [ts, value] pairs (sorted) in a width ×
 * height box: across the span before `now`, or from the first point when
 * the data is younger than that, so a new device shows a line, not a tick.
 */
export function sparkPath(points: ReadonlyArray<[number, number]>, now: number, width: number, height: number): string {
  if (points.length === 0) return '';
  let lo = Infinity;
  let hi = -Infinity;
  for (const [, v] of points) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const flat = hi === lo;
  const to = Math.max(now, (points.at(-1) as [number, number])[0]);
  const from = Math.max(to - SPARK_SPAN_MS, (points[0] as [number, number])[0]);
  const span = Math.max(1, to - from);
  const pad = 1.5;
  return points
    .map(([ts, v]) => {
      const x = Math.max(0, Math.min(width, ((ts - from) / span) * width));
      const y = flat ? height / 2 : pad + (1 - (v - lo) / (hi - lo)) * (height - 2 * pad);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}
