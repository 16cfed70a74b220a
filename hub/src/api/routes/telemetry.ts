/** History of a device's metrics, downsampled on the server to at most maxPoints buckets. */
import { MAX_TS_FUTURE_MS, ProtocolError, type HistoryResponse } from '@iot-hub/protocol';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../api-deps.js';

const DEFAULT_RANGE_MS = 3600_000;
const DEFAULT_MAX_POINTS = 1000;
const MAX_MAX_POINTS = 10_000;

interface HistoryQuerystring {
  metric?: string | string[];
  from?: string;
  to?: string;
  maxPoints?: string;
}

/**
 * Times a query may name: 1970 up to 2200. Beyond them no reading can be
 * stored (a reading's `ts` lies within a year of the hub's clock [FP-4.2]), and InfluxDB
 * refuses times past 2262 with an error rather than an empty answer, so an
 * out-of-range time is the caller's mistake: 400, not 500 or an empty series.
 */
export const MIN_QUERY_TS = 0;
export const MAX_QUERY_TS = Date.UTC(2200, 0, 1);

/** Epoch ms or ISO 8601, between MIN_QUERY_TS and MAX_QUERY_TS. */
export function parseTime(raw: string, name: string): number {
  // Echoed back: a 100 kB query value must not make a 100 kB answer.
  const shown = JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
  const ms = /^-?\d{1,20}$/.test(raw) ? Number(raw) : /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(ms)) throw new ProtocolError('bad_request', `${name} must be epoch milliseconds or an ISO 8601 date, got ${shown}`);
  if (ms < MIN_QUERY_TS || ms > MAX_QUERY_TS) {
    throw new ProtocolError('bad_request', `${name} must be between ${new Date(MIN_QUERY_TS).toISOString()} and ${new Date(MAX_QUERY_TS).toISOString()} (epoch ms ${MIN_QUERY_TS}..${MAX_QUERY_TS}), got ${shown}`);
  }
  return ms;
}

export function telemetryRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Params: { id: string }; Querystring: HistoryQuerystring }>('/api/devices/:id/telemetry', async (request) => {
    const { id } = request.params;
    if (!deps.registry.get(id)) throw new ProtocolError('not_found', `no device ${JSON.stringify(id)}`);
    const q = request.query;
    const now = Date.now();
    // Readings may be stamped a little ahead of now (device clocks, and the
    // hub's strictly increasing stamps): an open range includes them.
    const from = q.from === undefined ? now - DEFAULT_RANGE_MS : parseTime(q.from, 'from');
    const to = q.to === undefined ? now + MAX_TS_FUTURE_MS : parseTime(q.to, 'to');
    if (from > to) throw new ProtocolError('bad_request', `from (${from}) is after to (${to})`);
    let maxPoints = DEFAULT_MAX_POINTS;
    if (q.maxPoints !== undefined) {
      if (!/^\d+$/.test(q.maxPoints) || Number(q.maxPoints) < 1 || Number(q.maxPoints) > MAX_MAX_POINTS) {
        throw new ProtocolError('bad_request', `maxPoints must be an integer 1..${MAX_MAX_POINTS}, got ${JSON.stringify(q.maxPoints)}`);
      }
      maxPoints = Number(q.maxPoints);
    }
    const metrics = q.metric === undefined ? null : (Array.isArray(q.metric) ? q.metric : [q.metric]).flatMap((m) => m.split(',')).filter((m) => m !== '');
    const result = await deps.store.history({ deviceId: id, metrics, from, to, maxPoints });
    return { deviceId: id, from, to, bucketMs: result.bucketMs, series: result.series } satisfies HistoryResponse;
  });
}
