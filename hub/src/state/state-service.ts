/**
 * Desired and reported state of each device (the device shadow) [FP-4.3].
 *
 * Every shadow is held in memory (reads are hot: API, dashboards, each
 * connect) and written through to SQLite before a change is visible: a
 * change is computed on a copy, stored, then swapped in, so a failed write
 * changes nothing. The hub sends the device its pending desired state with
 * the version on every connect (even when nothing is pending, so firmware can
 * rely on it) and on every desired change.
 */
import { MAX_PAYLOAD_BYTES, ProtocolError, hubMessageBytes, type DesiredPatchRequest, type DeviceStateView, type StateMessage } from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { StateInbox } from '../core/device-inbox.js';
import type { DeviceLink } from '../core/device-link.js';
import type { EventBus } from '../core/events.js';
import type { Registry } from '../registry/registry.js';
import { applyReported, desiredMessage, emptyShadow, patchDesired, toView, type Shadow } from './shadow.js';
import { SqliteStateStore } from './sqlite-state-store.js';

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
  private readonly store: SqliteStateStore;
  private shadows = new Map<string, Shadow>();

  constructor(readonly options: StateServiceOptions) {
    this.store = new SqliteStateStore(options.file);
  }

  /** Loads every shadow; the registry must be started first (state of devices it no longer has is dropped). */
  async open(): Promise<void> {
    const { registry, events, log } = this.options;
    this.store.open();
    this.shadows = this.store.loadAll();
    for (const deviceId of this.shadows.keys()) {
      // A crash between deleting the device (registry file) and its state (this file) leaves an orphan.
      if (!registry.get(deviceId)) this.drop(deviceId);
    }
    events.on(this, 'deviceRemoved', (e) => this.drop(e.deviceId));
    log.debug({ devices: this.shadows.size }, 'device state loaded');
  }

  async close(): Promise<void> {
    this.options.events.removeAllFor(this);
    this.store.close();
    this.shadows.clear();
  }

  view(deviceId: string): DeviceStateView {
    return toView(deviceId, this.shadows.get(deviceId) ?? emptyShadow());
  }

  /**
   * Changes desired state: a value sets a key, `null` removes it. The version
   * grows by one when anything changed; an unchanged patch keeps it and sends
   * nothing. `ifVersion` makes the change conditional (409 version_conflict).
   */
  async patchDesired(deviceId: string, patch: DesiredPatchRequest, now = Date.now()): Promise<DeviceStateView> {
    if (!this.options.registry.get(deviceId)) throw new ProtocolError('not_found', `no device ${JSON.stringify(deviceId)}`);
    const current = this.shadows.get(deviceId) ?? emptyShadow();
    if (patch.ifVersion !== undefined && patch.ifVersion !== current.version) {
      throw new ProtocolError('version_conflict', `ifVersion is ${patch.ifVersion}, the current version is ${current.version}`);
    }
    const next = patchDesired(current, patch.state, now);
    if (!next) return toView(deviceId, current);
    // Every pending key goes to the device in one message, which must fit the protocol's limit [FP-7.2].
    const message = desiredMessage(next);
    const bytes = hubMessageBytes(message);
    if (bytes > MAX_PAYLOAD_BYTES) {
      throw new ProtocolError('payload_too_large', `the desired state would reach the device as ${bytes} bytes, over the ${MAX_PAYLOAD_BYTES} the protocol allows: remove keys (null) or send shorter values`);
    }
    this.commit(deviceId, next);
    this.options.linkOf(deviceId)?.send(message);
    return this.view(deviceId);
  }

  /** A new connection takes desired state: send the pending desired state and its version [FP-4.3]. */
  deviceReady(deviceId: string, link: DeviceLink): void {
    link.send(desiredMessage(this.shadows.get(deviceId) ?? emptyShadow()));
  }

  /** Reported state [FP-4.3]; resolves once stored, so the transport may acknowledge it. */
  async reported(deviceId: string, message: StateMessage, now: number): Promise<void> {
    const next = applyReported(this.shadows.get(deviceId) ?? emptyShadow(), message.state, message.version, now);
    this.commit(deviceId, next);
  }

  /** Stores, then makes visible and announces. */
  private commit(deviceId: string, next: Shadow): void {
    try {
      this.store.save(deviceId, next);
    } catch (err) {
      this.options.log.error({ err, deviceId }, 'storing device state failed');
      throw new ProtocolError('storage_unavailable', 'device state could not be stored');
    }
    this.shadows.set(deviceId, next);
    this.options.events.emit('state', { state: toView(deviceId, next) });
  }

  private drop(deviceId: string): void {
    this.shadows.delete(deviceId);
    try {
      this.store.delete(deviceId);
    } catch (err) {
      // Harmless if it stays: open() drops state of devices the registry no longer has.
      this.options.log.error({ err, deviceId }, 'deleting device state failed');
    }
  }
}
