/**
 * Wire types of the HTTP API under /api/ (docs/api.md). Type-only: the
 * dashboard and device-sim import them to stay in step with the hub.
 */
import type { ErrorCode } from './errors.js';
import type { BootId, CommandMessage, CommandSpec, MetricSpec, MetricValue, StateKeySpec, StateValue } from './messages.js';

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
  | 'silent-since-restart'
  | 'node-lost'
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
  /** Declared state keys; absent when the device declared none (then any desired key is taken, as in 1.0). */
  state?: Record<string, StateKeySpec>;
  heartbeatSec: number;
  /** The boot its last `hello` named, if any [FP-4.2]. */
  boot?: BootId;
  /** Largest hub → device message it can receive, when it declared one [FP-7.2]. */
  maxMessageBytes?: number;
}

/** Counters per device since the hub started. */
export interface DeviceStats {
  /** Messages accepted from the device. */
  messages: number;
  /** Telemetry samples dropped as repeats of a recent seq [FP-4.2]. */
  duplicates: number;
  /** Seq numbers skipped and not (yet) seen: likely lost samples. */
  seqGaps: number;
  /** Seq jumps too large to be losses (a restarted or broken counter) [FP-4.2]: each counts once here, not as gaps. */
  seqResets: number;
  /** Protocol errors the device caused [FP-8]. */
  errors: number;
}

export interface DeviceView {
  id: string;
  kind: string;
  name: string;
  /** Where the device is, as an operator set it (ROOM_PATTERN); null when not set. */
  room: string | null;
  /** Operator-given labels (LABEL_PATTERN), sorted, each once: what alert rules and filters scope by. */
  labels: string[];
  createdAt: number;
  presence: PresenceInfo;
  /** Epoch ms the hub last heard from the device, null if never. */
  lastSeen: number | null;
  latest: Record<string, LatestValue>;
  /**
   * Only in the list (GET /api/devices): how many latest values it left out
   * to stay bounded per device; GET /api/devices/{id} has every one.
   */
  latestOmitted?: number;
  capabilities: Capabilities | null;
  stats: DeviceStats;
}

export interface ProvisionRequest {
  id: string;
  kind: string;
  name?: string;
  room?: string;
  /** At most MAX_LABELS_PER_DEVICE; stored sorted, each once. */
  labels?: string[];
}

/** Body of PATCH /api/devices/{id}: the fields to change; `room: null` clears the room. */
export interface DeviceUpdateRequest {
  name?: string;
  room?: string | null;
  labels?: string[];
}

/** 201 answer to POST /api/devices; `token` is shown only this once. */
export interface ProvisionResponse extends DeviceView {
  token: string;
}

/** 200 answer to POST /api/devices/{id}/token; `token` is shown only this once. */
export interface TokenRotationResponse {
  id: string;
  token: string;
  issuedAt: number;
}

/** 200 answer to POST /api/devices/{id}/revoke. */
export interface TokenRevocationResponse {
  id: string;
  revokedAt: number;
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
  /** Cluster mode: this node, whether it holds its lease (`holding`: PostgreSQL is away for every node; `fenced`: this node is cut off), and whether its bus is connected. */
  cluster?: { nodeId: string; state: 'healthy' | 'holding' | 'fenced'; bus: boolean };
}

// ---- Commands (docs/api.md, "Commands") ----

/**
 * Where a command is in its life. `queued` waits for the device (offline,
 * or behind earlier commands); `sent` was written to its connection;
 * `acknowledged` the device said it is working on it. The last five are
 * final: every command reaches exactly one of them ([G4]).
 */
export type CommandState = 'queued' | 'sent' | 'acknowledged' | 'succeeded' | 'failed' | 'timed_out' | 'expired' | 'cancelled';
export const FINAL_COMMAND_STATES: readonly CommandState[] = ['succeeded', 'failed', 'timed_out', 'expired', 'cancelled'];

export function isFinalCommandState(state: CommandState): boolean {
  return FINAL_COMMAND_STATES.includes(state);
}

/** Body of POST /api/devices/{id}/commands. */
export interface CommandRequest {
  name: string;
  params?: Record<string, unknown>;
  /** How long the device has to answer once the command is sent (ms). */
  timeoutMs?: number;
  /** Epoch ms: not sent (nor started by the device) at or after this time. */
  expiresAt?: number;
}

export interface CommandTransition {
  state: CommandState;
  /** Epoch ms. */
  at: number;
}

/** A result that arrived after the command had ended: recorded, not applied. */
export interface LateResult {
  status: 'acknowledged' | 'succeeded' | 'failed';
  at: number;
  result?: unknown;
  error?: string;
}

export interface CommandView {
  /** Hub-issued id, also the `id` the device sees [FP-4.4]. */
  id: string;
  deviceId: string;
  name: string;
  params: Record<string, unknown>;
  state: CommandState;
  /** Every state reached, in order, with its time. */
  transitions: CommandTransition[];
  createdAt: number;
  /** Epoch ms of the last state change. */
  updatedAt: number;
  timeoutMs: number;
  expiresAt: number;
  /** How many times it was written to a device connection (more than 1 after reconnects). */
  deliveries: number;
  /** `result` of a succeeded command. */
  result?: unknown;
  /** Why it failed, timed out, expired or was cancelled. */
  error?: string;
  late?: LateResult[];
  /** Who created it (the audit log's actor). */
  issuedBy: string;
  idempotencyKey?: string;
}

/** GET /api/devices/{id}/commands: newest first; pass `next` as `before` for the next page. */
export interface CommandListResponse {
  commands: CommandView[];
  next: string | null;
}

// ---- Device state (desired / reported) ----

export interface StateEntry {
  value: StateValue;
  /** Epoch ms the value was last set. */
  ts: number;
}

export interface DeviceStateView {
  deviceId: string;
  /** Version of the desired state; grows with every change. */
  version: number;
  /** The desired version the device last said it applied, null if none. */
  reportedVersion: number | null;
  reported: Record<string, StateEntry>;
  /** What operators set: a key stays until an operator removes it (shadow semantics) [FP-4.3]. */
  desired: Record<string, StateEntry>;
  /** Desired keys whose reported value differs: what is still pending. */
  delta: Record<string, StateValue>;
  /** Desired keys the device said it cannot apply, with its reason; cleared when that key's desired value changes or is reached. */
  refused: Record<string, RefusedEntry>;
}

export interface RefusedEntry {
  /** The device's reason [FP-4.3]. */
  reason: string;
  /** The desired value it refused. */
  value: StateValue;
  /** Epoch ms of the refusal. */
  ts: number;
}

/** Body of PATCH /api/devices/{id}/state/desired; `null` removes a desired key. */
export interface DesiredPatchRequest {
  state: Record<string, StateValue>;
  /** Refuse with 409 `version_conflict` unless the desired version is still this. */
  ifVersion?: number;
}

// ---- Probes (docs/devices.md, "Checking your firmware") ----

/**
 * Body of POST /api/devices/{id}/probes (admin): what the conformance runner
 * does to a connected device that the command and state API must not do.
 * `command` sends a raw command message outside command tracking (any
 * `expiresAt`, even past; an `id` of its own, repeated to test duplicate
 * handling); `disconnect` closes the device's connection so that it
 * reconnects [FP-9].
 */
export type ProbeRequest =
  | {
      kind: 'command';
      /** `probe_` and up to 58 more name characters; a fresh one when absent. */
      id?: string;
      name: string;
      params?: Record<string, unknown>;
      /** Epoch ms, sent as is: a past one tests that the device does not execute it. */
      expiresAt?: number;
    }
  | { kind: 'disconnect' };

/** 202 answer to a probe: what was done; for `command`, the exact message sent. */
export type ProbeResponse =
  | { kind: 'command'; deviceId: string; message: CommandMessage }
  | { kind: 'disconnect'; deviceId: string };

/** Prefix of every probe command id: never a tracked command's (those are `cmd_…`). */
export const PROBE_ID_PREFIX = 'probe_';

// ---- Audit log ----

export type AuditAction =
  | 'command.create'
  | 'command.cancel'
  | 'state.desired'
  | 'device.create'
  | 'device.delete'
  | 'device.update'
  | 'device.token.rotate'
  | 'device.token.revoke'
  | 'device.probe'
  | 'user.create'
  | 'user.delete'
  | 'token.create'
  | 'token.delete'
  | 'rule.create'
  | 'rule.update'
  | 'rule.delete'
  | 'alert.ack'
  | 'silence.create'
  | 'silence.delete'
  | 'notifier.create'
  | 'notifier.delete';

export interface AuditEntry {
  id: number;
  /** Epoch ms. */
  ts: number;
  /** Who: a username, `token:<name>` for an API token, or `admin` for the admin token. */
  actor: string;
  action: AuditAction;
  deviceId: string | null;
  commandId: string | null;
  /** What was asked: command name and params, the desired patch ... */
  details: Record<string, unknown>;
  /** The command's final state once it ended, `ok` or the error code for immediate actions, null while pending. */
  outcome: string | null;
}

/** GET /api/audit?deviceId=&actor=&action=&from=&to=&limit=&before=: newest first. */
export interface AuditListResponse {
  entries: AuditEntry[];
  next: string | null;
}
