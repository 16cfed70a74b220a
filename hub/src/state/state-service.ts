/**
 * Desired and reported state of each device (the device shadow) [FP-4.3].
 * SKELETON: signatures only; the implementation lands next.
 */
import type { DesiredPatchRequest, DeviceStateView, StateMessage } from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { StateInbox } from '../core/device-inbox.js';
import type { DeviceLink } from '../core/device-link.js';
import type { EventBus } from '../core/events.js';
import type { Registry } from '../registry/registry.js';

export interface StateServiceOptions {
  /** SQLite file (shared with the command and audit stores, each with its own tables). */
  file: string;
  registry: Registry;
  events: EventBus;
  /** The device's connection if it takes desired state now (DeviceGateway.readyLink(id, 'desired')). */
  linkOf: (deviceId: string) => DeviceLink | undefined;
  log: Logger;
}

export class StateService implements StateInbox {
  constructor(readonly options: StateServiceOptions) {}

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  view(deviceId: string): DeviceStateView {
    return { deviceId, version: 0, reportedVersion: null, reported: {}, desired: {}, delta: {} };
  }

  patchDesired(_deviceId: string, _patch: DesiredPatchRequest, _now = Date.now()): Promise<DeviceStateView> {
    return Promise.reject(new Error('not implemented'));
  }

  deviceReady(_deviceId: string, _link: DeviceLink): void {}

  reported(_deviceId: string, _message: StateMessage, _now: number): Promise<void> {
    return Promise.resolve();
  }
}
