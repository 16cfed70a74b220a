/**
 * What the hub sends over the bus: live events to every node (one channel
 * per kind) and requests to the node that holds a device (its inbox).
 * The bus itself is generic over these maps; these are the hub's.
 */
import type { DeviceView } from '@iot-hub/protocol';
import type { HubEventMap } from '../../events/event-bus.js';

export interface HubBusEvents {
  telemetry: HubEventMap['telemetry'];
  /** With the ownership epoch it belongs to: nodes drop one older than the presence they hold. */
  presence: HubEventMap['presence'] & { epoch?: number };
  command: HubEventMap['command'];
  state: HubEventMap['state'];
  /** Raw device messages: only while some dashboard watches them. */
  message: HubEventMap['message'];
  /** An alert changed (stored first, on the node that evaluates its device): dashboards of every node show it. */
  alert: HubEventMap['alert'];
  /** Registry changes: for dashboards and for each node's registry cache. */
  registry: { action: 'added' | 'updated'; device: DeviceView } | { action: 'removed'; deviceId: string };
  /** A session, API token or user ended somewhere: every node rechecks its sockets and drops cached credentials. */
  accounts: { reason: 'revoked' };
  /** A node's last lease renewal on the database's clock: tells a PostgreSQL outage (nobody renews) from one node cut off. */
  lease: { renewedAt: number };
}

export type HubBusEventKind = keyof HubBusEvents;

/** Kinds a node listens to only while a dashboard wants them (ClusterBus.want): the heavy ones. */
export const ON_DEMAND_KINDS: readonly HubBusEventKind[] = ['telemetry', 'message'];
/** Kinds every node listens to from start: rare, and needed by caches and dashboards alike. */
export const ALWAYS_KINDS: readonly HubBusEventKind[] = ['presence', 'command', 'state', 'alert', 'registry', 'accounts', 'lease'];

/**
 * Requests to the node that holds a device. Each is a shortcut only: the
 * same work is found by that node's reconcilers, so a lost one is late,
 * never lost for good.
 */
export type HubInboxItem =
  /** Commands of this device were queued: send them (compare-and-set queued → sent). */
  | { type: 'deliverCommands'; deviceId: string }
  /** The device's desired state changed: send it. */
  | { type: 'desiredChanged'; deviceId: string }
  /** Another node took the device over with `epoch`: close the session if it is older. */
  | { type: 'kick'; deviceId: string; belowEpoch: number }
  /** The device's token was rotated or revoked: close its session. */
  | { type: 'credentialsChanged'; deviceId: string };
