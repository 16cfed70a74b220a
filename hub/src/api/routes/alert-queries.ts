/**
 * Query strings of GET /api/alerts and GET /api/alerts/history, parsed as
 * strictly as the audit log's: one value per parameter, no unknown ones (a
 * typo must not silently widen the search), exact ranges.
 */
import { ALERT_SEVERITIES, ALERT_STATES, ProtocolError, type AlertHistoryEntry, type AlertSeverity, type AlertState } from '@iot-hub/protocol';
import type { AlertFilter, HistoryFilter } from '../../alerts/alert-store.js';
import { strictQuery } from './strict-query.js';
import { parseTime } from './telemetry.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const HISTORY_STATES: readonly AlertHistoryEntry['to'][] = [...ALERT_STATES, 'acknowledged', 'action'];

function oneOf<T extends string>(raw: string, name: string, values: readonly T[]): T {
  if (!(values as readonly string[]).includes(raw)) throw new ProtocolError('bad_request', `${name} must be one of ${values.join(', ')}, got ${JSON.stringify(raw.slice(0, 40))}`);
  return raw as T;
}

export function parseAlertQuery(query: Record<string, unknown>): AlertFilter {
  const q = strictQuery(query, ['state', 'deviceId', 'ruleId', 'severity'] as const);
  const filter: AlertFilter = {};
  if (q.state !== undefined) filter.state = oneOf<AlertState>(q.state, 'state', ALERT_STATES);
  if (q.severity !== undefined) filter.severity = oneOf<AlertSeverity>(q.severity, 'severity', ALERT_SEVERITIES);
  if (q.deviceId !== undefined) filter.deviceId = q.deviceId;
  if (q.ruleId !== undefined) filter.ruleId = q.ruleId;
  return filter;
}

export function encodeHistoryCursor(id: number): string {
  return Buffer.from(`h${id}`).toString('base64url');
}

function decodeHistoryCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^h\d{1,15}$/.test(text) || encodeHistoryCursor(Number(text.slice(1))) !== cursor) {
    throw new ProtocolError('bad_request', `before must be the "next" of a previous page, got ${JSON.stringify(cursor.slice(0, 40))}`);
  }
  return Number(text.slice(1));
}

export function parseHistoryQuery(query: Record<string, unknown>): HistoryFilter {
  const q = strictQuery(query, ['deviceId', 'ruleId', 'state', 'from', 'to', 'limit', 'before'] as const);
  const filter: HistoryFilter = { limit: DEFAULT_LIMIT };
  if (q.deviceId !== undefined) filter.deviceId = q.deviceId;
  if (q.ruleId !== undefined) filter.ruleId = q.ruleId;
  if (q.state !== undefined) filter.state = oneOf(q.state, 'state', HISTORY_STATES);
  if (q.from !== undefined) filter.from = parseTime(q.from, 'from');
  if (q.to !== undefined) filter.to = parseTime(q.to, 'to');
  if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to) {
    throw new ProtocolError('bad_request', `from (${filter.from}) is after to (${filter.to})`);
  }
  if (q.limit !== undefined) {
    if (!/^\d+$/.test(q.limit) || Number(q.limit) < 1 || Number(q.limit) > MAX_LIMIT) {
      throw new ProtocolError('bad_request', `limit must be an integer 1..${MAX_LIMIT}, got ${JSON.stringify(q.limit.slice(0, 40))}`);
    }
    filter.limit = Number(q.limit);
  }
  if (q.before !== undefined) filter.beforeId = decodeHistoryCursor(q.before);
  return filter;
}
