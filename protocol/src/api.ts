/**
 * Wire types of the HTTP API under /api/ (README "API"). Type-only: the
 * dashboard and device-sim import them to stay in step with the hub.
 */
import type { ErrorCode } from './errors.js';
import type { CommandSpec, MetricSpec, MetricValue } from './messages.js';

export type PresenceStatus = 'online' | 'offline' | 'unknown';
export type Transport = 'mqtt' | 'ws';

/** Why presence last changed; kept with each transition. */
export type PresenceReason =
  | 'never-connected'
  | 'connected'
  | 'disconnected'
  | 'last-will'
  | 'connection-lost'
  | 'heartbeat-timeout'
  | 'hub-restart'
  | 'replaced'
  | 'deleted';

export interface PresenceInfo {
  status: PresenceStatus;
  /** Epoch ms of the transition. */
  since: number;
  reason: PresenceReason;
  /** The transport of the current or last connection. */
  transport: Transport | null;
}

export interface LatestValue {
  value: MetricValue;
  ts: number;
}

/** What the device declared in its last `hello` [FP-4.1]. */
export interface Capabilities {
  kind: string;
  fw?: string;
  model?: string;
  metrics: Record<string, MetricSpec>;
  commands: Record<string, CommandSpec>;
  heartbeatSec: number;
}

/** Counters per device since the hub started. */
export interface DeviceStats {
  /** Messages accepted from the device. */
  messages: number;
  /** Telemetry samples dropped as repeats of a recent seq [FP-4.2]. */
  duplicates: number;
  /** Seq numbers skipped and not (yet) seen: likely lost samples. */
  seqGaps: number;
  /** Protocol errors the device caused [FP-8]. */
  errors: number;
}

export interface DeviceView {
  id: string;
  kind: string;
  name: string;
  createdAt: number;
  presence: PresenceInfo;
  /** Epoch ms the hub last heard from the device, null if never. */
  lastSeen: number | null;
  latest: Record<string, LatestValue>;
  capabilities: Capabilities | null;
  stats: DeviceStats;
}

export interface ProvisionRequest {
  id: string;
  kind: string;
  name?: string;
}

/** 201 answer to POST /api/devices; `token` is shown only this once. */
export interface ProvisionResponse extends DeviceView {
  token: string;
}

export interface DeviceListResponse {
  devices: DeviceView[];
}

export interface HistoryPoint {
  /** Start of the bucket, epoch ms. */
  ts: number;
  avg: number;
  min: number;
  max: number;
  count: number;
}

export interface HistorySeries {
  metric: string;
  points: HistoryPoint[];
}

export interface HistoryResponse {
  deviceId: string;
  from: number;
  to: number;
  /** Width of each bucket in ms; 0 when the points are raw samples. */
  bucketMs: number;
  series: HistorySeries[];
}

/** Body of every API error response. */
export interface ApiErrorBody {
  error: ErrorCode;
  code: number;
  message: string;
}

/** The telemetry store's health, as /healthz reports it. */
export interface StoreHealth {
  /** False while the store is unreachable or its local buffer is over 80 % of its quota. */
  ok: boolean;
  /** Why ok is false, or the last write error. */
  error?: string;
  /** InfluxDB: points waiting in the durable local buffer; when `full`, devices are not acknowledged. */
  buffer?: { points: number; bytes: number; quotaBytes: number; oldestAgeSec: number | null; full: boolean };
  /** InfluxDB: points refused for good (written to the dead-letter file in the data dir). */
  deadLettered?: number;
  /** InfluxDB: points it accepted since the hub started. */
  delivered?: number;
  /** InfluxDB: write requests (HTTP POSTs) sent since the hub started, retries included; with `delivered`, shows how well writes are batched. */
  writeRequests?: number;
}

export interface HealthResponse {
  status: 'ok' | 'degraded';
  uptimeSec: number;
  version: string;
  store: StoreHealth & { kind: string };
  devices: { total: number; online: number };
  connections: { mqtt: number; ws: number; dashboards: number };
}
