/**
 * The InfluxDB layout the hub writes and reads (documented in docs/storage.md):
 *
 *   database     from the URL path (http://host:8086/<database>)
 *   "raw"        retention policy, DEFAULT, duration --influx-raw-retention
 *     telemetry  measurement; tags device, metric; field value (float); ms timestamps
 *   "rollup_1m"  retention policy, duration --influx-rollup-retention
 *     telemetry  same tags; fields mean, min, max, count, sum per minute
 *
 * A continuous query fills rollup_1m every minute and resamples the last
 * ROLLUP_RESAMPLE so points that arrive a little late (a short outage
 * drained from the buffer) are still rolled up. Everything is created
 * idempotently at start.
 */
export const MEASUREMENT = 'telemetry';
export const RAW_RP = 'raw';
export const ROLLUP_RP = 'rollup_1m';
export const ROLLUP_MS = 60_000;
export const ROLLUP_RESAMPLE = '10m';
export const ROLLUP_CQ = 'telemetry_rollup_1m';

/** InfluxQL identifier: "name" with " and \ escaped. */
export function ident(name: string): string {
  return '"' + name.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

/** InfluxQL string literal: 'text' with ' and \ escaped. */
export function literal(text: string): string {
  return "'" + text.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
}

/** Durations InfluxDB accepts for a retention policy (at least 1h), or INF. */
export function parseRetention(raw: string): string {
  if (raw === 'INF' || raw === 'inf') return 'INF';
  const m = /^(\d+)(h|d|w)$/.exec(raw);
  if (!m) throw new Error(`expected a duration like 720h, 30d, 52w or INF, got ${JSON.stringify(raw)}`);
  const hours = Number(m[1]) * (m[2] === 'h' ? 1 : m[2] === 'd' ? 24 : 168);
  if (hours < 1) throw new Error('a retention policy must keep at least 1h');
  return raw;
}

/** Retention in ms; Infinity for INF. */
export function retentionMs(duration: string): number {
  if (duration === 'INF') return Infinity;
  const m = /^(\d+)(h|d|w)$/.exec(duration);
  if (!m) return Infinity;
  return Number(m[1]) * (m[2] === 'h' ? 1 : m[2] === 'd' ? 24 : 168) * 3_600_000;
}

/**
 * How old a device's `ts` may be for InfluxDB to take the reading, as the
 * hub checks it before acknowledging [FP-4.2]: InfluxDB refuses a point
 * older than the raw retention (400 "points beyond retention policy"),
 * which after the ack would mean dead-lettered, acknowledged data. A
 * reading waits in the local buffer before InfluxDB sees it, so the hub
 * stops a margin short of the retention: an hour, or half of a shorter
 * retention. Null when the retention keeps everything the protocol allows.
 */
export function rawAgeLimit(rawRetention: string, protocolMaxPastMs: number): { maxPastMs: number; detail: string } | null {
  const keepMs = retentionMs(rawRetention);
  const maxPastMs = keepMs - Math.min(RETENTION_MARGIN_MS, keepMs / 2);
  if (maxPastMs >= protocolMaxPastMs) return null;
  return { maxPastMs, detail: `the store keeps raw readings for ${rawRetention} (--influx-raw-retention), so the hub takes none older than ${maxPastMs} ms` };
}

const RETENTION_MARGIN_MS = 3_600_000;

/** The statements that set the database up; each is safe to run again. */
export function setupStatements(database: string, rawRetention: string, rollupRetention: string, existingRps: ReadonlySet<string>): string[] {
  const db = ident(database);
  const rp = (name: string, duration: string, isDefault: boolean) =>
    existingRps.has(name)
      ? `ALTER RETENTION POLICY ${ident(name)} ON ${db} DURATION ${duration}${isDefault ? ' DEFAULT' : ''}`
      : `CREATE RETENTION POLICY ${ident(name)} ON ${db} DURATION ${duration} REPLICATION 1${isDefault ? ' DEFAULT' : ''}`;
  return [
    rp(RAW_RP, rawRetention, true),
    rp(ROLLUP_RP, rollupRetention, false),
    `CREATE CONTINUOUS QUERY ${ident(ROLLUP_CQ)} ON ${db} RESAMPLE EVERY 1m FOR ${ROLLUP_RESAMPLE} BEGIN ${rollupSelect(database)} GROUP BY time(1m), * END`,
  ];
}

/** The rollup SELECT … INTO; the CQ runs it, and rollUp() for a backfill. */
export function rollupSelect(database: string): string {
  const db = ident(database);
  return (
    'SELECT mean("value") AS "mean", min("value") AS "min", max("value") AS "max", count("value") AS "count", sum("value") AS "sum" ' +
    `INTO ${db}.${ident(ROLLUP_RP)}.${ident(MEASUREMENT)} FROM ${db}.${ident(RAW_RP)}.${ident(MEASUREMENT)}`
  );
}

/**
 * One point as a line of InfluxDB line protocol, the form points keep in the
 * local buffer and go to /write in (precision=ms):
 *
 *   telemetry,device=<id>,metric=<name> value=<float> <ts ms>
 *
 * Tag values escape backslash, comma, equals sign and space. A number
 * without the `i` suffix is a float field, so 1 and 1.5 land alike.
 */
export function pointLine(deviceId: string, metric: string, value: number, ts: number): string {
  return `${MEASUREMENT},device=${escapeTag(deviceId)},metric=${escapeTag(metric)} value=${value} ${ts}`;
}

/** The point a pointLine() line holds; null for anything else. */
export function parsePointLine(line: string): { deviceId: string; metric: string; value: number; ts: number } | null {
  const prefix = `${MEASUREMENT},device=`;
  if (!line.startsWith(prefix)) return null;
  const device = readTag(line, prefix.length, ',');
  if (!device || !line.startsWith('metric=', device.end + 1)) return null;
  const metric = readTag(line, device.end + 1 + 'metric='.length, ' ');
  if (!metric) return null;
  const m = /^ value=(\S+) (-?\d+)$/.exec(line.slice(metric.end));
  if (!m) return null;
  const value = Number(m[1]);
  return Number.isFinite(value) ? { deviceId: device.text, metric: metric.text, value, ts: Number(m[2]) } : null;
}

/** The text of the line-protocol tag that selects one device, for filtering buffered lines. */
export function deviceTagOf(deviceId: string): string {
  return `,device=${escapeTag(deviceId)},`;
}

const TAG_SPECIALS = /[\\, =]/;

function escapeTag(text: string): string {
  // Device ids and metric names (letters, digits, _ . -) never need it; other text still round-trips.
  return TAG_SPECIALS.test(text) ? text.replace(/[\\, =]/g, (c) => `\\${c}`) : text;
}

/** An escaped tag value from `start` up to the first unescaped `end`; `end` is its index. */
function readTag(line: string, start: number, end: string): { text: string; end: number } | null {
  let text = '';
  for (let i = start; i < line.length; i++) {
    const c = line[i] as string;
    if (c === '\\' && i + 1 < line.length) {
      text += line[++i];
    } else if (c === end) {
      return { text, end: i };
    } else text += c;
  }
  return null;
}
