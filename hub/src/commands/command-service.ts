/**
 * Commands from operators to devices, each tracked to its outcome
 * (invariant 4). SKELETON: signatures only; the implementation lands next.
 */
import type { CommandListResponse, CommandRequest, CommandState, CommandView, ResultMessage } from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { CommandInbox } from '../core/device-inbox.js';
import type { DeviceLink } from '../core/device-link.js';
import type { EventBus } from '../core/events.js';
import type { Registry } from '../registry/registry.js';

export interface CommandServiceOptions {
  /** SQLite file holding commands (shared with the state and audit stores, each with its own tables). */
  file: string;
  registry: Registry;
  events: EventBus;
  /** The device's connection if it takes commands now (DeviceGateway.readyLink(id, 'commands')). */
  linkOf: (deviceId: string) => DeviceLink | undefined;
  /** Time a device has to answer once a command is sent, unless the request says otherwise. */
  defaultTimeoutMs: number;
  /** How long a command may wait for an offline device, unless the request gives `expiresAt`. */
  defaultExpiryMs: number;
  /** Commands per device that may be queued, sent or acknowledged at once. */
  maxPendingPerDevice: number;
  log: Logger;
}

export interface CreateOptions {
  actor: string;
  idempotencyKey?: string;
}

export class CommandService implements CommandInbox {
  constructor(readonly options: CommandServiceOptions) {}

  async open(_now = Date.now()): Promise<void> {}
  async close(): Promise<void> {}

  create(_deviceId: string, _request: CommandRequest, _opts: CreateOptions, _now = Date.now()): Promise<{ command: CommandView; created: boolean }> {
    return Promise.reject(new Error('not implemented'));
  }

  get(_id: string): CommandView | undefined {
    return undefined;
  }

  list(_deviceId: string, _page: { limit: number; before?: string }): CommandListResponse {
    return { commands: [], next: null };
  }

  cancel(_id: string, _actor: string, _now = Date.now()): Promise<CommandView> {
    return Promise.reject(new Error('not implemented'));
  }

  countByState(): Partial<Record<CommandState, number>> {
    return {};
  }

  deviceReady(_deviceId: string, _link: DeviceLink): void {}

  result(_deviceId: string, _message: ResultMessage, _now: number): Promise<void> {
    return Promise.resolve();
  }
}
