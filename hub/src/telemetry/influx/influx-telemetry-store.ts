/**
 * TelemetryStore on InfluxDB 1.x over its HTTP API (node-influx). write()
 * resolves when InfluxDB accepted the points: the hub puts a durable local
 * buffer in front of it (BufferedTelemetryStore), so this store only has to
 * be correct, not available. Layout: see influx-schema.ts.
 *
 * Reads pick raw data or the 1-minute rollup by range: raw data is exact and
 * complete inside the raw retention, so that part of a range is read raw
 * (samples when at most maxPoints per metric, else buckets); the part older
 * than the raw retention is read from the rollup (buckets of at least a
 * minute's data each). Buckets always start at `from` (GROUP BY time(w,
 * offset)). Reading recent ranges raw also avoids the rollup's lag: the
 * continuous query rolls a minute up only after it ends.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { InfluxDB } from 'influx';
import type { HistorySeries, HistoryPoint } from '@iot-hub/protocol';
import type { Logger } from 'pino';
import {
  bucketWidth,
  latestRecord,
  RejectedPointsError,
  type HistoryQuery,
  type HistoryResult,
  type StoredValue,
  type StoreStatus,
  type TelemetryPoint,
  type TelemetryStore,
} from '../telemetry-store.js';
import { ident, literal, MEASUREMENT, pointLine, RAW_RP, retentionMs, ROLLUP_MS, ROLLUP_RP, rollupSelect, setupStatements } from './influx-schema.js';

export interface InfluxTelemetryStoreOptions {
  /** http://[user:pass@]host:8086/database */
  url: string;
  /** Raw retention policy duration (30d, INF …). */
  rawRetention: string;
  rollupRetention: string;
  requestTimeoutMs?: number;
  log: Logger;
}

interface RawSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: (number | string | null)[][];
}
interface RawResponse {
  results: { error?: string; series?: RawSeries[] }[];
}

/** Never let node-influx take its only host out of the pool: our buffer does the backoff. */
const NO_BACKOFF = {
  getDelay: () => 0,
  next() {
    return NO_BACKOFF;
  },
  reset() {
    return NO_BACKOFF;
  },
};

export class InfluxTelemetryStore implements TelemetryStore {
  readonly kind = 'influx';
  readonly database: string;
  private readonly influx: InfluxDB;
  private readonly writeTarget: { url: URL; authorization: string | undefined; agent: HttpAgent };
  private schemaReady: Promise<void> | null = null;
  private readonly rawMs: number;
  private openError: string | null = null;

  constructor(private readonly options: InfluxTelemetryStoreOptions) {
    const url = new URL(options.url);
    this.database = decodeURIComponent(url.pathname.replace(/^\/+|\/+$/g, ''));
    this.rawMs = retentionMs(options.rawRetention);
    this.influx = new InfluxDB({
      host: url.hostname,
      port: Number(url.port || (url.protocol === 'https:' ? 443 : 8086)),
      protocol: url.protocol === 'https:' ? 'https' : 'http',
      username: decodeURIComponent(url.username) || 'root',
      password: decodeURIComponent(url.password) || 'root',
      database: this.database,
      pool: { maxRetries: 0, requestTimeout: options.requestTimeoutMs ?? 10_000, backoff: NO_BACKOFF },
    });
    const https = url.protocol === 'https:';
    const write = new URL(`${url.protocol}//${url.host}/write`);
    write.search = new URLSearchParams({ db: this.database, rp: RAW_RP, precision: 'ms' }).toString();
    const user = decodeURIComponent(url.username);
    this.writeTarget = {
      url: write,
      authorization: user ? `Basic ${Buffer.from(`${user}:${decodeURIComponent(url.password)}`).toString('base64')}` : undefined,
      agent: https ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true }),
    };
  }

  /** Sets the database up if InfluxDB answers; an outage here is not fatal (writes retry it). */
  async open(): Promise<void> {
    try {
      await this.ensureSchema();
    } catch (err) {
      this.openError = (err as Error).message;
      this.options.log.warn({ err: (err as Error).message, url: redact(this.options.url) }, 'InfluxDB is not reachable at start: telemetry is buffered on disk until it is');
    }
  }

  async close(): Promise<void> {
    this.writeTarget.agent.destroy();
  }

  /** Whether open() reached InfluxDB; the buffer in front tracks reachability after that. */
  status(): StoreStatus {
    return this.openError === null ? { ok: true } : { ok: false, error: this.openError };
  }

  /** Creates the database, retention policies and rollup query once per process (again after a 404). */
  ensureSchema(): Promise<void> {
    this.schemaReady ??= this.setup().catch((err: unknown) => {
      this.schemaReady = null;
      throw err;
    });
    return this.schemaReady;
  }

  private async setup(): Promise<void> {
    await this.influx.createDatabase(this.database);
    const rps = await this.query(`SHOW RETENTION POLICIES ON ${ident(this.database)}`);
    const existing = new Set((rps.results[0]?.series?.[0]?.values ?? []).map((row) => String(row[0])));
    for (const statement of setupStatements(this.database, this.options.rawRetention, this.options.rollupRetention, existing)) {
      await this.query(statement, 'POST');
    }
    this.options.log.info({ database: this.database, rawRetention: this.options.rawRetention, rollupRetention: this.options.rollupRetention }, 'InfluxDB schema ready');
  }

  async write(points: readonly TelemetryPoint[]): Promise<void> {
    if (points.length === 0) return;
    await this.writeLines(points.map((p) => pointLine(p.deviceId, p.metric, p.value, p.ts)).join('\n'));
  }

  /**
   * Posts line protocol (pointLine() lines, newline-separated) to /write in
   * the raw retention policy. The buffer keeps points in this form, so a
   * drained batch goes out as stored, with no per-point work.
   */
  async writeLines(body: string): Promise<void> {
    if (body.length === 0) return;
    await this.ensureSchema();
    const { status, text } = await this.post(body);
    if (status === 204 || status === 200) return;
    const detail = errorText(text) || `HTTP ${status}`;
    // 400: field type conflict, unparsable line, beyond retention; 413: too big.
    if (status === 400 || status === 413) throw new RejectedPointsError(`InfluxDB ${status}: ${detail}`);
    if (status === 404) this.schemaReady = null; // database dropped or server reset: set up again
    throw new Error(`InfluxDB write failed: ${status} ${detail}`);
  }

  private post(body: string): Promise<{ status: number; text: string }> {
    const { url, authorization, agent } = this.writeTarget;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const payload = Buffer.from(body, 'utf8');
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method: 'POST',
          agent,
          timeout: this.options.requestTimeoutMs ?? 10_000,
          headers: { 'content-type': 'text/plain; charset=utf-8', 'content-length': payload.length, ...(authorization ? { authorization } : {}) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (text.length < 4096) text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`InfluxDB write timed out after ${this.options.requestTimeoutMs ?? 10_000} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Rolls raw points in [from, to) up into rollup_1m now (after a backlog older than the CQ's resample window lands). */
  async rollUp(from: number, to: number): Promise<void> {
    const start = Math.floor(from / ROLLUP_MS) * ROLLUP_MS;
    const end = Math.ceil(to / ROLLUP_MS) * ROLLUP_MS;
    await this.query(`${rollupSelect(this.database)} WHERE time >= ${start}ms AND time < ${end}ms GROUP BY time(1m), *`, 'POST');
  }

  async history(q: HistoryQuery): Promise<HistoryResult> {
    const metrics = await this.metricsOf(q.deviceId, q.metrics);
    if (metrics.length === 0) return { bucketMs: 0, series: [] };
    const where = `"device" = ${literal(q.deviceId)} AND (${metrics.map((m) => `"metric" = ${literal(m)}`).join(' OR ')})`;
    const raw = this.from(RAW_RP);
    // Raw data is complete from `split` on; older parts of the range come from the rollup.
    const split = Math.min(q.to + 1, Math.max(q.from, Math.ceil((Date.now() - this.rawMs) / ROLLUP_MS) * ROLLUP_MS));
    const byMetric = new Map<string, HistoryPoint[]>(metrics.map((m) => [m, []]));
    if (split === q.from) {
      const counts = await this.query(`SELECT count("value") FROM ${raw} WHERE ${where} AND ${range(q.from, q.to)} GROUP BY "metric"`);
      const maxCount = Math.max(0, ...(counts.results[0]?.series ?? []).map((s) => Number(s.values[0]?.[1] ?? 0)));
      if (maxCount <= q.maxPoints) {
        const res = await this.query(`SELECT "value" FROM ${raw} WHERE ${where} AND ${range(q.from, q.to)} GROUP BY "metric"`);
        for (const s of res.results[0]?.series ?? []) {
          byMetric.set(s.tags?.metric ?? '', s.values.map(([ts, v]) => ({ ts: Number(ts), avg: Number(v), min: Number(v), max: Number(v), count: 1 })));
        }
        return { bucketMs: 0, series: metrics.map((metric) => ({ metric, points: byMetric.get(metric) ?? [] })) };
      }
    }

    const w = bucketWidth(q.from, q.to, q.maxPoints);
    const group = `GROUP BY time(${w}ms, ${((q.from % w) + w) % w}ms), "metric" fill(none)`;
    const statements: string[] = [];
    if (split > q.from) {
      // Rollup rows carry their minute's start and split is a minute boundary: no sample is counted twice.
      statements.push(`SELECT sum("sum"), min("min"), max("max"), sum("count") FROM ${this.from(ROLLUP_RP)} WHERE ${where} AND time >= ${q.from}ms AND time < ${split}ms ${group}`);
    }
    if (split <= q.to) {
      statements.push(`SELECT sum("value"), min("value"), max("value"), count("value") FROM ${raw} WHERE ${where} AND ${range(split, q.to)} ${group}`);
    }
    const res = await this.query(statements.join('; '));
    const buckets = new Map<string, Map<number, { sum: number; min: number; max: number; count: number }>>();
    for (const result of res.results) {
      for (const s of result.series ?? []) {
        const metric = s.tags?.metric ?? '';
        const into = buckets.get(metric) ?? new Map<number, { sum: number; min: number; max: number; count: number }>();
        buckets.set(metric, into);
        for (const [ts, sum, min, max, count] of s.values) {
          const b = into.get(Number(ts));
          if (!b) into.set(Number(ts), { sum: Number(sum), min: Number(min), max: Number(max), count: Number(count) });
          else {
            b.sum += Number(sum);
            b.min = Math.min(b.min, Number(min));
            b.max = Math.max(b.max, Number(max));
            b.count += Number(count);
          }
        }
      }
    }
    const series: HistorySeries[] = metrics.map((metric) => ({
      metric,
      points: [...(buckets.get(metric) ?? new Map()).entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([ts, b]) => ({ ts, avg: b.sum / b.count, min: b.min, max: b.max, count: b.count })),
    }));
    return { bucketMs: w, series };
  }

  async latest(deviceId: string): Promise<Record<string, StoredValue>> {
    const res = await this.query(`SELECT last("value") FROM ${this.from(RAW_RP)} WHERE "device" = ${literal(deviceId)} GROUP BY "metric"`);
    const result = latestRecord();
    for (const s of res.results[0]?.series ?? []) {
      const row = s.values[0];
      if (row && s.tags?.metric !== undefined) result[s.tags.metric] = { ts: Number(row[0]), value: Number(row[1]) };
    }
    return result;
  }

  async latestOfAll(): Promise<Map<string, Record<string, StoredValue>>> {
    const res = await this.query(`SELECT last("value") FROM ${this.from(RAW_RP)} GROUP BY "device", "metric"`);
    const all = new Map<string, Record<string, StoredValue>>();
    for (const s of res.results[0]?.series ?? []) {
      const row = s.values[0];
      const device = s.tags?.device;
      const metric = s.tags?.metric;
      if (!row || device === undefined || metric === undefined) continue;
      let values = all.get(device);
      if (!values) all.set(device, (values = latestRecord()));
      values[metric] = { ts: Number(row[0]), value: Number(row[1]) };
    }
    return all;
  }

  async deleteDevice(deviceId: string): Promise<void> {
    await this.ensureSchema();
    // Without FROM: every measurement in every retention policy (raw and rollup).
    await this.query(`DROP SERIES WHERE "device" = ${literal(deviceId)}`, 'POST');
  }

  /** The device's metrics (all, or those of `wanted` it has), sorted. */
  private async metricsOf(deviceId: string, wanted: readonly string[] | null): Promise<string[]> {
    const res = await this.query(`SHOW TAG VALUES FROM ${ident(MEASUREMENT)} WITH KEY = "metric" WHERE "device" = ${literal(deviceId)}`);
    const all = new Set<string>();
    for (const s of res.results[0]?.series ?? []) for (const row of s.values) all.add(String(row[1]));
    return [...all].filter((m) => wanted === null || wanted.includes(m)).sort();
  }

  private from(rp: string): string {
    return `${ident(this.database)}.${ident(rp)}.${ident(MEASUREMENT)}`;
  }

  private async query(q: string, method: 'GET' | 'POST' = 'GET'): Promise<RawResponse> {
    // InfluxDB 1.x refuses writes (CREATE, DROP, SELECT INTO) over GET.
    const res = (await this.influx.queryRaw(q, { precision: 'ms', database: this.database, method })) as RawResponse;
    const failed = res.results.find((r) => r.error !== undefined);
    if (failed?.error !== undefined) throw new Error(`InfluxDB: ${failed.error} (in ${q.slice(0, 200)})`);
    return res;
  }
}

function range(from: number, to: number): string {
  return `time >= ${from}ms AND time <= ${to}ms`;
}

/** InfluxDB's `{"error":"..."}` answer as text. */
function errorText(body: string): string {
  try {
    return (JSON.parse(body) as { error?: string }).error ?? body.trim();
  } catch {
    return body.trim();
  }
}

/** The URL without its password, for logs. */
export function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
