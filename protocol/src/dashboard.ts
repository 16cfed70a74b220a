/**
 * Wire types of the dashboard socket `/ws/dashboard`: JSON text frames, one
 * request/response envelope with an echoed `id`, and server pushes of only
 * what the client subscribed to.
 */
import type { ErrorCode } from './errors.js';
import type { CommandView, DeviceStateView, DeviceView, PresenceInfo } from './api.js';
import type { MetricValue } from './messages.js';
import type { AlertView } from './alerts.js';

export type DashboardEventKind = 'telemetry' | 'presence' | 'device' | 'command' | 'state' | 'alert' | 'message';
export const DASHBOARD_EVENT_KINDS: readonly DashboardEventKind[] = ['telemetry', 'presence', 'device', 'command', 'state', 'alert', 'message'];
/**
 * The kinds a subscribe without `events` gets: every kind but `message`, the
 * raw feed for an inspector, which costs the hub work per message and so is
 * sent only to who names it.
 */
export const DEFAULT_DASHBOARD_EVENT_KINDS: readonly DashboardEventKind[] = ['telemetry', 'presence', 'device', 'command', 'state', 'alert'];
/** A `message` event's body is cut to this many characters of JSON. */
export const MESSAGE_BODY_MAX_CHARS = 4096;

/** One raw protocol message between a device and the hub, for the device page's inspector. */
export interface DeviceMessageEvent {
  event: 'message';
  deviceId: string;
  /** `in`: device → hub; `out`: hub → device. */
  direction: 'in' | 'out';
  /** Epoch ms the hub handled or sent it. */
  ts: number;
  /** The protocol message type (`telemetry`, `command`, `error`, ...). */
  type: string;
  /** The message as JSON text, cut to MESSAGE_BODY_MAX_CHARS (then `truncated` is true). */
  body: string;
  truncated: boolean;
}

/** Subprotocol the dashboard socket speaks; a `bearer.{token}` entry may ride beside it. */
export const DASHBOARD_SUBPROTOCOL = 'iot-hub.v1';

export type DashboardRequest =
  | {
      id: number | string;
      op: 'subscribe';
      /** Device ids, or "*" for every device (including ones added later). */
      devices: string[] | '*';
      /** Event kinds wanted for these devices, added to what the socket already has; all when absent. */
      events?: DashboardEventKind[];
    }
  /** Removes the (device, event kind) pairs named; all kinds when `events` is absent. */
  | { id: number | string; op: 'unsubscribe'; devices: string[] | '*'; events?: DashboardEventKind[] }
  | { id: number | string; op: 'ping' };

export type DashboardResponse =
  | { id: number | string | null; status: 'ok'; data?: unknown }
  | { id: number | string | null; status: 'error'; error: ErrorCode; message: string };

/** `data` of a successful subscribe: the current view of the subscribed devices. */
export interface SubscribeResult {
  devices: DeviceView[];
}

export type DashboardEvent =
  | { event: 'telemetry'; deviceId: string; ts: number; metrics: Record<string, MetricValue> }
  | { event: 'presence'; deviceId: string; presence: PresenceInfo; lastSeen: number | null }
  | { event: 'device'; action: 'added' | 'updated'; device: DeviceView }
  | { event: 'device'; action: 'removed'; deviceId: string }
  /** A command was created or changed state. */
  | { event: 'command'; command: CommandView }
  /** Desired or reported state changed. */
  | { event: 'state'; state: DeviceStateView }
  /** An alert of the device changed state, was acknowledged or silenced (docs/alerts.md). */
  | { event: 'alert'; alert: AlertView }
  /** A raw message in or out of the device (only to sockets that subscribed `message` for it). */
  | DeviceMessageEvent
  /** The socket fell behind and events were dropped: re-subscribe to resync. */
  | { event: 'overflow'; dropped: number };

export type DashboardServerFrame = DashboardResponse | DashboardEvent;
