/**
 * Desired and reported state of each device (the device shadow) [FP-4.3].
 *
 * Every shadow is held in memory (reads are hot: API, dashboards, each
 * connect) and written through to SQLite before a change is visible: a
 * change is computed on a copy, stored, then swapped in, so a failed write
 * changes nothing. The hub sends the device its complete desired state with
 * the version and the delta on every connect (even when nothing is desired,
 * so firmware can rely on it), on every desired change, and when a report
 * drifts away from desired (shadow.ts says when exactly).
 */
import { ProtocolError, type DesiredMessage, type DesiredPatchRequest, type DeviceStateView, type StateMessage } from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { Audit } from '../audit/audit-log.js';
import type { DeviceLink } from '../core/device-link.js';
import type { EventBus } from '../events/event-bus.js';
import { checkDesired } from './desired-checks.js';
import { checkDesiredSize, sendDesired } from './desired-delivery.js';
import { desiredAuditInput, type DesiredPatchOptions, type DeviceLookup, type DeviceStates, type StateCounters } from './device-states.js';
import { applyReported, desiredMessage, emptyShadow, patchDesired, toView, type Shadow } from './shadow.js';
import { SqliteStateStore } from './sqlite-state-store.js';

export type { StateCounters } from './device-states.js';

export interface StateServiceOptions {
  /** SQLite file (shared with the command and audit stores, each with its own tables). */
  file: string;
  registry: DeviceLookup;
  events: EventBus;
  /** Where `state.desired` is recorded when a patch names its actor. */
  audit?: Pick<Audit, 'record'>;
  /** The device's connection if it takes desired state now (DeviceGateway.readyLink(id, 'desired')). */
  linkOf: (deviceId: string) => DeviceLink | undefined;
  log: Logger;
}

export class StateService implements DeviceStates {
  private readonly store: SqliteStateStore;
  private shadows = new Map<string, Shadow>();
  readonly counters: StateCounters = { desiredRefused: 0, tooLargeForDevice: 0 };

  constructor(readonly options: StateServiceOptions) {
    this.store = new SqliteStateStore(options.file);
  }

  /** Loads every shadow; the registry must be started first (state of devices it no longer has is dropped). */
  async open(): Promise<void> {
    const { registry, events, log } = this.options;
    const { migrated } = this.store.open();
    if (migrated.length > 0) log.info({ devices: migrated.length }, 'desired state rebuilt from the audit log: desired keys now stay until an operator removes them');
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

  view(deviceId: string): Promise<DeviceStateView> {
    return Promise.resolve(this.viewNow(deviceId));
  }

  private viewNow(deviceId: string): DeviceStateView {
    return toView(deviceId, this.shadows.get(deviceId) ?? emptyShadow());
  }

  /**
   * Changes desired state: a value sets a key, `null` removes it. The version
   * grows by one when anything changed; an unchanged patch keeps it and sends
   * nothing. `ifVersion` makes the change conditional (409 version_conflict).
   * Values are checked against the keys the device declared (422
   * invalid_desired), and the message against what it can receive (422
   * too_large_for_device); nothing is stored or sent for a refused patch.
   */
  async patchDesired(deviceId: string, patch: DesiredPatchRequest, options: DesiredPatchOptions = {}): Promise<DeviceStateView> {
    const view = this.applyDesired(deviceId, patch, options.now ?? Date.now());
    if (options.actor !== undefined) await this.options.audit?.record(desiredAuditInput(options.actor, deviceId, patch, view.version));
    return view;
  }

  private applyDesired(deviceId: string, patch: DesiredPatchRequest, now: number): DeviceStateView {
    const entry = this.options.registry.get(deviceId);
    if (!entry) throw new ProtocolError('not_found', `no device ${JSON.stringify(deviceId)}`);
    const current = this.shadows.get(deviceId) ?? emptyShadow();
    if (patch.ifVersion !== undefined && patch.ifVersion !== current.version) {
      throw new ProtocolError('version_conflict', `ifVersion is ${patch.ifVersion}, the current version is ${current.version}`);
    }
    checkDesired(entry.record, patch.state);
    const next = patchDesired(current, patch.state, now);
    if (!next) return toView(deviceId, current);
    checkDesiredSize(this.options.registry, deviceId, current, next);
    this.commit(deviceId, next);
    this.send(deviceId, desiredMessage(next));
    return this.viewNow(deviceId);
  }

  /** A new connection takes desired state: send the complete desired state, its version and delta [FP-4.3]. */
  deviceReady(deviceId: string, link: DeviceLink): void {
    this.send(deviceId, desiredMessage(this.shadows.get(deviceId) ?? emptyShadow()), link);
  }

  /**
   * Reported state [FP-4.3]; resolves once stored, so the transport may
   * acknowledge it. A report that drifted from desired gets desired back.
   */
  async reported(deviceId: string, message: StateMessage, now: number): Promise<void> {
    const outcome = applyReported(this.shadows.get(deviceId) ?? emptyShadow(), message, now);
    this.commit(deviceId, outcome.shadow);
    if (outcome.newRefusals.length > 0) {
      this.counters.desiredRefused += outcome.newRefusals.length;
      // Device input, not an operator action: logged and counted, not audited.
      this.options.log.info({ deviceId, keys: outcome.newRefusals }, 'device refused desired state');
    }
    if (outcome.drifted) this.send(deviceId, desiredMessage(outcome.shadow));
  }

  private send(deviceId: string, message: DesiredMessage, link = this.options.linkOf(deviceId)): void {
    if (link) sendDesired({ registry: this.options.registry, counters: this.counters, log: this.options.log }, deviceId, message, link);
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
