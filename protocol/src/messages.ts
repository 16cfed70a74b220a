/**
 * Message types of the device protocol [FP-4]. One JSON envelope for both
 * transports: `{"v": 1, "type": "...", ...fields}`. On MQTT the channel names
 * the type, so `type` (and `v`) may be left out.
 */
import type { ErrorCode } from './errors.js';

/** A metric value: numbers, and booleans for on/off readings (stored as 1/0). */
export type MetricValue = number | boolean;
/** A reported or desired state value; `null` removes a desired key. */
export type StateValue = number | boolean | string | null;

export interface Envelope {
  /** Protocol major version; 1 when absent [FP-2.3]. */
  v?: number;
  /** Optional message id chosen by the device, echoed in `ack` (WebSocket) and in `error` as `ref` [FP-3.2]. */
  mid?: string | number;
}

export interface MetricSpec {
  type: 'number' | 'boolean';
  unit?: string;
  min?: number;
  max?: number;
  description?: string;
}

export interface ParamSpec {
  type: 'number' | 'integer' | 'boolean' | 'string' | 'enum';
  unit?: string;
  min?: number;
  max?: number;
  values?: string[];
  required?: boolean;
  description?: string;
}

/**
 * A state key the device declares [FP-4.1]: what its values look like and
 * whether operators may set it (desired state). The hub refuses a desired
 * value that does not match (422 invalid_desired).
 */
export interface StateKeySpec {
  type: 'number' | 'integer' | 'boolean' | 'string' | 'enum';
  unit?: string;
  min?: number;
  max?: number;
  values?: string[];
  /** Operators may set this key through desired state; false when absent. */
  settable?: boolean;
  description?: string;
}

/**
 * Names one boot of a device [FP-4.2]: a counter kept in non-volatile memory
 * (recommended) or an id chosen at start. Compared for equality only.
 */
export type BootId = number | string;

export interface CommandSpec {
  description?: string;
  params?: Record<string, ParamSpec>;
}

/** Device → hub: who I am and what I can do [FP-4.1]. */
export interface HelloMessage extends Envelope {
  type: 'hello';
  kind: string;
  fw?: string;
  model?: string;
  metrics?: Record<string, MetricSpec>;
  commands?: Record<string, CommandSpec>;
  /** State keys the device reports, and which operators may set [FP-4.1]. */
  state?: Record<string, StateKeySpec>;
  heartbeatSec?: number;
  /** This boot of the device: seq numbers are unique within it [FP-4.2]. */
  boot?: BootId;
  /** Largest hub → device message the device can receive, in bytes [FP-7.2]. */
  maxMessageBytes?: number;
}

export interface TelemetrySample {
  ts?: number;
  /** Milliseconds before the message was sent: a sample time for devices without a clock [FP-4.2]. */
  age?: number;
  seq?: number;
  metrics: Record<string, MetricValue>;
}

/** Device → hub: one sample (`metrics`) or a batch (`samples`) [FP-4.2]. */
export interface TelemetryMessage extends Envelope {
  type: 'telemetry';
  /** The boot the samples were taken in; absent = the boot of the device's last `hello` [FP-4.2]. */
  boot?: BootId;
  ts?: number;
  age?: number;
  seq?: number;
  metrics?: Record<string, MetricValue>;
  samples?: TelemetrySample[];
}

/** Device → hub: reported state [FP-4.3]. */
export interface StateMessage extends Envelope {
  type: 'state';
  state: Record<string, StateValue>;
  /** The desired-state version the device applied, if any. */
  version?: number;
  /** Desired keys the device cannot apply, with the reason [FP-4.3]. */
  refused?: Record<string, string>;
}

/** Device → hub: progress or outcome of a command [FP-4.5]. */
export interface ResultMessage extends Envelope {
  type: 'result';
  id: string;
  status: 'acknowledged' | 'succeeded' | 'failed';
  result?: unknown;
  error?: string;
}

/** Device → hub: retained presence; also the MQTT last will [FP-6]. */
export interface StatusMessage extends Envelope {
  type: 'status';
  status: 'online' | 'offline';
}

/** Device → hub: keeps presence alive when there is nothing else to send [FP-5]. */
export interface PingMessage extends Envelope {
  type: 'ping';
}

/** WS only: credentials as the first frame when the upgrade carried none [FP-3.2]. */
export interface AuthMessage extends Envelope {
  type: 'auth';
  id: string;
  token: string;
}

export type DeviceMessage =
  | HelloMessage
  | TelemetryMessage
  | StateMessage
  | ResultMessage
  | StatusMessage
  | PingMessage
  | AuthMessage;

export type DeviceMessageType = DeviceMessage['type'];

/** Hub → device: a command to execute [FP-4.4]. */
export interface CommandMessage {
  v: 1;
  type: 'command';
  id: string;
  name: string;
  params: Record<string, unknown>;
  expiresAt?: number;
}

/** Hub → device: the desired state snapshot with its version [FP-4.3]. */
export interface DesiredMessage {
  v: 1;
  type: 'desired';
  state: Record<string, StateValue>;
  version: number;
  /** Desired keys whose reported value differs: what the device still has to apply (always sent by a 1.1 hub) [FP-4.3]. */
  delta?: Record<string, StateValue>;
}

/** Hub → device: an error about something the device sent [FP-8]. */
export interface ErrorMessage {
  v: 1;
  type: 'error';
  code: number;
  error: ErrorCode;
  message: string;
  /** The `mid` of the message this answers, when it had one. */
  ref?: string | number;
  /** The MQTT topic the offending message was published on. */
  topic?: string;
}

/** WS only, hub → device: the message with this `mid` is stored durably [FP-3.2]. */
export interface AckMessage {
  v: 1;
  type: 'ack';
  mid: string | number;
}

/** WS only, hub → device: authentication succeeded [FP-3.2]. */
export interface WelcomeMessage {
  v: 1;
  type: 'welcome';
  id: string;
  ts: number;
}

/** Hub → device: the hub's clock, in answer to `ping` (MQTT: also once `pong` is subscribed) [FP-5]. */
export interface PongMessage {
  v: 1;
  type: 'pong';
  ts: number;
}

export type HubMessage =
  | CommandMessage
  | DesiredMessage
  | ErrorMessage
  | AckMessage
  | WelcomeMessage
  | PongMessage;

/** MQTT channel → the message type it carries [FP-3.1]. */
export const CHANNEL_TYPES = {
  hello: 'hello',
  telemetry: 'telemetry',
  state: 'state',
  results: 'result',
  status: 'status',
  ping: 'ping',
} as const satisfies Record<string, DeviceMessageType>;
