/**
 * What the rest of the hub uses of device state (the device shadow)
 * [FP-4.3]: the API reads and patches it, the gateway hands it reports and
 * ready links, /metrics reads the counters. StateService (SQLite, one node)
 * and PgStateService (PostgreSQL, a cluster) implement it.
 */
import type { DesiredPatchRequest, DeviceStateView } from '@iot-hub/protocol';
import type { AuditInput } from '../audit/audit-log.js';
import type { StateInbox } from '../core/device-inbox.js';
import type { DeviceEntry } from '../registry/registry.js';

/** Plain increments, read by /metrics at scrape time. */
export interface StateCounters {
  /** Desired keys devices refused (`state.refused`), each new refusal once. */
  desiredRefused: number;
  /** `desired` messages not sent because they were larger than the device's `hello.maxMessageBytes`. */
  tooLargeForDevice: number;
}

/** The registry as the state services use it: the device's record (declared state keys, message size). */
export interface DeviceLookup {
  get(deviceId: string): Pick<DeviceEntry, 'record'> | undefined;
}

export interface DesiredPatchOptions {
  /** Who asked: the service records `state.desired` in the audit log (with the change, where the store allows). */
  actor?: string;
  now?: number;
}

export interface DeviceStates extends StateInbox {
  readonly counters: StateCounters;
  open(): Promise<void>;
  close(): Promise<void>;
  /** The shadow as the API shows it; an empty one for a device with no state yet. */
  view(deviceId: string): Promise<DeviceStateView>;
  /**
   * Changes desired state: a value sets a key, `null` removes it. The version
   * grows by one when anything changed; `ifVersion` makes the change
   * conditional (409 version_conflict); 404 not_found, 422 invalid_desired /
   * too_large_for_device, 413 payload_too_large, 503 storage_unavailable.
   */
  patchDesired(deviceId: string, patch: DesiredPatchRequest, options?: DesiredPatchOptions): Promise<DeviceStateView>;
}

/** The audit entry of a desired change that succeeded (changed or not): the version it left. */
export function desiredAuditInput(actor: string, deviceId: string, patch: DesiredPatchRequest, version: number): AuditInput {
  const details = { state: patch.state, ...(patch.ifVersion === undefined ? {} : { ifVersion: patch.ifVersion }), version };
  return { actor, action: 'state.desired', deviceId, details, outcome: 'ok' };
}
