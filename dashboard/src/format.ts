/**
 * Formatting for display: metric values with units, relative times and
 * presence labels. Pure functions; `now` and `locale` are parameters so that
 * tests (and a ticking clock in the UI) decide them.
 */
import type { Capabilities, HealthResponse, MetricValue, PresenceInfo, PresenceReason, PresenceStatus } from '@iot-hub/protocol';

const numberFormats = new Map<string, Intl.NumberFormat>();

function numberFormat(locale: string | undefined, maximumFractionDigits: number): Intl.NumberFormat {
  const key = `${locale ?? ''}|${maximumFractionDigits}`;
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale, { maximumFractionDigits });
    numberFormats.set(key, format);
  }
  return format;
}

/** Fewer decimals for bigger numbers: 1234.6, 21.57, 0.123. */
export function formatNumber(value: number, locale?: string): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  const digits = Number.isInteger(value) ? 0 : magnitude >= 100 ? 1 : magnitude >= 1 ? 2 : 3;
  return numberFormat(locale, digits).format(value);
}

/** Units written without a space before them, as people expect to read them. */
const UNSPACED_UNITS = new Set(['%', '°', '‰']);

/** `21.5 °C`, `45%`, `on`: the unit comes from the device's declared metric. */
export function formatValue(value: MetricValue, unit?: string, locale?: string): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  const text = formatNumber(value, locale);
  if (!unit) return text;
  return UNSPACED_UNITS.has(unit) ? `${text}${unit}` : `${text} ${unit}`;
}

/**
 * Words for a boolean metric whose name says what `true` is: a contact's
 * `open` reads "open"/"closed", not "on"/"off" ("open off"). Any other
 * boolean reads on/off.
 */
const BOOLEAN_WORDS: ReadonlyMap<string, readonly [string, string]> = new Map([
  ['open', ['open', 'closed']],
  ['closed', ['closed', 'open']],
  ['locked', ['locked', 'unlocked']],
  ['motion', ['motion', 'no motion']],
  ['occupied', ['occupied', 'clear']],
]);

/** A metric's value with the unit the device declared in its capabilities, if any. */
export function formatMetric(
  capabilities: Capabilities | null,
  name: string,
  value: MetricValue,
  locale?: string,
): string {
  const words = typeof value === 'boolean' ? BOOLEAN_WORDS.get(name) : undefined;
  if (words) return value ? words[0] : words[1];
  return formatValue(value, capabilities?.metrics[name]?.unit, locale);
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * `just now`, `45 s ago`, `2 min ago`, `3 h ago`, `5 days ago`; older than
 * 30 days, the date. A time slightly in the future (clocks differ) reads as
 * `just now`.
 */
export function formatRelativeTime(ts: number, now: number, locale?: string): string {
  const elapsed = now - ts;
  if (elapsed < 10 * SECOND) return 'just now';
  if (elapsed < MINUTE) return `${Math.floor(elapsed / SECOND)} s ago`;
  if (elapsed < HOUR) return `${Math.floor(elapsed / MINUTE)} min ago`;
  if (elapsed < DAY) return `${Math.floor(elapsed / HOUR)} h ago`;
  const days = Math.floor(elapsed / DAY);
  if (days <= 30) return days === 1 ? '1 day ago' : `${days} days ago`;
  return new Date(ts).toLocaleDateString(locale, { year: 'numeric', month: 'short', day: 'numeric' });
}

/** `last seen 2 min ago`, or `never seen`. */
export function formatLastSeen(lastSeen: number | null, now: number, locale?: string): string {
  return lastSeen === null ? 'never seen' : `last seen ${formatRelativeTime(lastSeen, now, locale)}`;
}

const PRESENCE_LABELS: Record<PresenceStatus, string> = {
  online: 'Online',
  offline: 'Offline',
  unknown: 'Unknown',
};

export function presenceLabel(status: PresenceStatus): string {
  return PRESENCE_LABELS[status] ?? status;
}

const REASON_LABELS: Record<PresenceReason, string> = {
  'never-connected': 'never connected',
  connected: 'connected',
  disconnected: 'disconnected',
  'last-will': 'connection lost (last will)',
  'connection-lost': 'connection lost',
  'heartbeat-timeout': 'missed its heartbeat',
  'hub-restart': 'not heard from since the hub restarted',
  'silent-since-restart': 'not back within its heartbeat after the hub restarted',
  'node-lost': 'the hub node it was connected to went away',
  replaced: 'replaced by a newer connection',
  deleted: 'deleted',
};

export function presenceReasonLabel(reason: PresenceReason): string {
  return REASON_LABELS[reason] ?? reason;
}

/**
 * The line under a presence badge. Online: when and how it connected.
 * Otherwise: when the device was last heard from, and why it is not online.
 */
/**
 * A list row's presence detail: when the device was last heard from (what
 * an operator scans a fleet for), with the transport while online; offline,
 * the reason too.
 */
export function listPresenceDetail(presence: PresenceInfo, lastSeen: number | null, now: number, locale?: string): string {
  if (presence.status !== 'online') return presenceDetail(presence, lastSeen, now, locale);
  const via = presence.transport ? ` via ${presence.transport === 'ws' ? 'WebSocket' : 'MQTT'}` : '';
  return `${formatLastSeen(lastSeen, now, locale)}${via}`;
}

export function presenceDetail(presence: PresenceInfo, lastSeen: number | null, now: number, locale?: string): string {
  if (presence.status === 'online') {
    const via = presence.transport ? ` via ${presence.transport === 'ws' ? 'WebSocket' : 'MQTT'}` : '';
    return `connected ${formatRelativeTime(presence.since, now, locale)}${via}`;
  }
  const seen = formatLastSeen(lastSeen, now, locale);
  return presence.reason === 'never-connected' ? seen : `${seen} · ${presenceReasonLabel(presence.reason)}`;
}

/** `512 B`, `3.4 KB`, `45 MB`, `1.0 GB` (powers of 1024, as the hub's quota flag counts MiB). */
export function formatBytes(bytes: number, locale?: string): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${numberFormat(locale, digits).format(value)} ${units[unit]}`;
}

const STORE_LABELS: Record<string, string> = { influx: 'InfluxDB', sqlite: 'SQLite' };

export interface StoreBanner {
  /** `error` once the buffer is full and devices are refused; `warning` before. */
  severity: 'warning' | 'error';
  title: string;
  /** Sentences that say what is happening and what it means for the data. */
  details: string[];
  /** Share of the buffer's quota in use, 0-1; null when the store has no buffer. */
  bufferFill: number | null;
}

/**
 * What the dashboard's store banner says for a /healthz answer; null when
 * the hub reports `ok`. The buffer is the durable local one in front of
 * InfluxDB: readings in it are acknowledged and safe, and drain in order
 * when the store is back; only a full buffer makes devices resend.
 */
export function storeBanner(health: HealthResponse, now: number, locale?: string): StoreBanner | null {
  if (health.status === 'ok') return null;
  const { store } = health;
  const name = STORE_LABELS[store.kind] ?? store.kind;
  const buffer = store.buffer;
  const fill = buffer && buffer.quotaBytes > 0 ? Math.min(1, buffer.bytes / buffer.quotaBytes) : null;
  const percent = fill === null ? '' : `${Math.floor(fill * 100)} %`;
  const details: string[] = [];
  const unreachable = store.error !== undefined;
  let title: string;
  if (buffer?.full) title = `Telemetry buffer full: devices are not acknowledged until ${name} catches up`;
  else if (unreachable) title = `${name} is unreachable: telemetry is buffered on the hub`;
  else if (fill !== null && fill >= 0.8) title = `Telemetry buffer ${percent} full`;
  else title = `${name} is degraded`;
  if (unreachable) details.push(`Last error: ${store.error}.`);
  if (buffer) {
    const oldest = buffer.oldestAgeSec === null ? '' : `, oldest from ${formatRelativeTime(now - buffer.oldestAgeSec * 1000, now, locale)}`;
    details.push(
      `${formatNumber(buffer.points, locale)} readings wait in the hub's local buffer (${formatBytes(buffer.bytes, locale)}, ${percent} of its ${formatBytes(buffer.quotaBytes, locale)} quota${oldest}).`,
    );
    details.push(
      buffer.full
        ? 'The buffer is full: the hub refuses new telemetry (not acknowledged) and devices keep and resend it. Buffered readings are safe and are sent as soon as the store accepts them.'
        : `Buffered readings are safe on disk and are sent in order once ${name} is back; charts miss them until then. When the buffer is full the hub stops acknowledging telemetry.`,
    );
  }
  if ((store.deadLettered ?? 0) > 0) {
    details.push(`${formatNumber(store.deadLettered ?? 0, locale)} readings were refused by ${name} for good and kept in the dead-letter file in the hub's data directory.`);
  }
  return { severity: buffer?.full ? 'error' : 'warning', title, details, bufferFill: fill };
}
