/**
 * Small real objects for driving a command service directly, without a
 * hub: devices that declared commands, a device connection that records
 * what it was sent, and a log of the 'command' events a node announced.
 */
import type { Test } from 'tap';
import { ProtocolError, type CommandMessage, type CommandSpec, type CommandState, type ErrorCode, type HubMessage, type ResultMessage, type Transport } from '@iot-hub/protocol';
import type { DeviceLink, CloseReason } from '../../src/core/device-link.js';
import type { EventBus } from '../../src/events/event-bus.js';
import type { DeviceLookup } from '../../src/commands/commands.js';
import type { DeviceRecord } from '../../src/registry/registry-store.js';

export const DECLARED: Record<string, CommandSpec> = {
  boost: { params: { minutes: { type: 'integer', unit: 'min', min: 5, max: 120, required: true } } },
  identify: { description: 'blink' },
};

/** The registry as commands see it: devices that said hello with DECLARED (or nothing). */
export class TestDevices implements DeviceLookup {
  private readonly records = new Map<string, DeviceRecord>();

  add(id: string, options: { hello?: boolean; maxMessageBytes?: number } = {}): this {
    const capabilities = options.hello === false ? null : { kind: 'thermostat', metrics: {}, commands: DECLARED, heartbeatSec: 60, ...(options.maxMessageBytes ? { maxMessageBytes: options.maxMessageBytes } : {}) };
    this.records.set(id, { id, kind: 'thermostat', name: id, room: null, labels: [], tokenHash: 'x', tokenIssuedAt: 0, tokenRevokedAt: null, createdAt: 0, capabilities, lastSeen: null, lastTransport: null });
    return this;
  }

  get(id: string): { record: DeviceRecord } | undefined {
    const record = this.records.get(id);
    return record && { record };
  }
}

/** A device connection: records every message; `closed` once closed. */
export class RecordingLink implements DeviceLink {
  readonly transport: Transport = 'ws';
  readonly sent: HubMessage[] = [];
  closed: CloseReason | null = null;

  send(message: HubMessage): void {
    this.sent.push(message);
  }

  close(reason: CloseReason): void {
    this.closed = reason;
  }

  get commands(): CommandMessage[] {
    return this.sent.filter((m): m is CommandMessage => m.type === 'command');
  }
}

/** Which device is connected where: `linkOf` for one node. */
export class Links {
  private readonly links = new Map<string, RecordingLink>();

  connect(deviceId: string): RecordingLink {
    const link = new RecordingLink();
    this.links.set(deviceId, link);
    return link;
  }

  disconnect(deviceId: string): void {
    this.links.delete(deviceId);
  }

  readonly linkOf = (deviceId: string): DeviceLink | undefined => this.links.get(deviceId);
}

/** Every 'command' event one EventBus carried, in order. */
export class CommandEvents {
  readonly seen: { id: string; state: CommandState }[] = [];

  constructor(events: EventBus) {
    events.on(this, 'command', (e) => this.seen.push({ id: e.command.id, state: e.command.state }));
  }

  states(id: string): CommandState[] {
    return this.seen.filter((e) => e.id === id).map((e) => e.state);
  }
}

export function resultMessage(id: string, status: ResultMessage['status'], extra: { result?: unknown; error?: string } = {}): ResultMessage {
  return { v: 1, type: 'result', id, status, ...extra };
}

/** Asserts that `p` rejects with the ProtocolError `code` (and exactly `detail`, when given). */
export async function refused(t: Test, p: Promise<unknown>, code: ErrorCode, detail?: string): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof ProtocolError)) {
    t.fail(`expected ProtocolError ${code}, got ${err === null ? 'success' : String(err)}`);
    return;
  }
  t.equal(err.error, code);
  if (detail !== undefined) t.equal(err.detail, detail);
}
