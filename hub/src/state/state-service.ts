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
import {
  MAX_PAYLOAD_BYTES,
  ProtocolError,
  hubMessageBytes,
  type DesiredMessage,
  type DesiredPatchRequest,
  type DeviceStateView,
  type StateMessage,
} from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { StateInbox } from '../core/device-inbox.js';
import type { DeviceLink } from '../core/device-link.js';
import type { EventBus } from '../core/events.js';
import { deviceMessageLimit } from '../registry/capabilities.js';
import type { Registry } from '../registry/registry.js';
import { checkDesired } from './desired-checks.js';
import { applyReported, desiredMessage, emptyShadow, largestDesiredMessage, patchDesired, toView, type Shadow } from './shadow.js';
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

/** Plain increments, read by /metrics at scrape time. */
export interface StateCounters {
  /** Desired keys devices refused (`state.refused`), each new refusal once. */
  desiredRefused: number;
  /** `desired` messages not sent because they were larger than the device's `hello.maxMessageBytes`. */
  tooLargeForDevice: number;
}

export class StateService implements StateInbox {
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

  view(deviceId: string): DeviceStateView {
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
  async patchDesired(deviceId: string, patch: DesiredPatchRequest, now = Date.now()): Promise<DeviceStateView> {
    const entry = this.options.registry.get(deviceId);
    if (!entry) throw new ProtocolError('not_found', `no device ${JSON.stringify(deviceId)}`);
    const current = this.shadows.get(deviceId) ?? emptyShadow();
    if (patch.ifVersion !== undefined && patch.ifVersion !== current.version) {
      throw new ProtocolError('version_conflict', `ifVersion is ${patch.ifVersion}, the current version is ${current.version}`);
    }
    checkDesired(entry.record, patch.state);
    const next = patchDesired(current, patch.state, now);
    if (!next) return toView(deviceId, current);
    this.checkSize(deviceId, current, next);
    this.commit(deviceId, next);
    this.send(deviceId, desiredMessage(next));
    return this.view(deviceId);
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

  /**
   * The desired message must fit what the device can receive even when every
   * key is in the delta (after the device reset), so that it can always be
   * sent [FP-7.2]: past the protocol's limit 413, past the device's 422. A
   * patch that does not grow it passes, so operators can shrink a document
   * stored before the device declared a smaller buffer.
   */
  private checkSize(deviceId: string, current: Shadow, next: Shadow): void {
    const bytes = hubMessageBytes(largestDesiredMessage(next));
    const limit = deviceMessageLimit(this.options.registry.get(deviceId)?.record.capabilities);
    if (bytes <= limit || bytes <= hubMessageBytes(largestDesiredMessage(current))) return;
    if (bytes > MAX_PAYLOAD_BYTES) {
      throw new ProtocolError('payload_too_large', `the desired state would reach the device as ${bytes} bytes, over the ${MAX_PAYLOAD_BYTES} the protocol allows: remove keys (null) or send shorter values`);
    }
    throw new ProtocolError('too_large_for_device', `the desired state would reach the device as ${bytes} bytes, over the ${limit} bytes device ${JSON.stringify(deviceId)} can receive (hello.maxMessageBytes): remove keys (null) or send shorter values`);
  }

  /**
   * Sends `desired` if the device takes it now, never past the size it said
   * it can receive: a document stored before the device declared a smaller
   * buffer is held back, logged and counted, until operators shrink it.
   */
  private send(deviceId: string, message: DesiredMessage, link = this.options.linkOf(deviceId)): void {
    if (!link) return;
    const limit = deviceMessageLimit(this.options.registry.get(deviceId)?.record.capabilities);
    const bytes = hubMessageBytes(message);
    if (bytes > limit) {
      this.counters.tooLargeForDevice += 1;
      this.options.log.warn({ deviceId, bytes, limit, version: message.version }, 'desired state not sent: larger than the device can receive (hello.maxMessageBytes)');
      return;
    }
    link.send(message);
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
