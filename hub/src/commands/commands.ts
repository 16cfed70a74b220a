/**
 * What the rest of the hub (API routes, metrics, the device gateway) asks
 * of commands. CommandService (SQLite, one process) and PgCommandService
 * (PostgreSQL, a cluster) implement it and pass the same contract suite.
 * Reads are async: on PostgreSQL they are queries.
 */
import type { CommandListResponse, CommandRequest, CommandState, CommandView, ResultMessage } from '@iot-hub/protocol';
import type { CommandInbox } from '../core/device-inbox.js';
import type { DeviceRecord } from '../registry/registry-store.js';

export interface CreateOptions {
  actor: string;
  idempotencyKey?: string;
}

/** How a device result was taken: applied to a pending command, a repeat, kept as late, or not ours. */
export type ResultDisposition = 'applied' | 'duplicate' | 'late' | 'ignored';
export type ResultStatus = ResultMessage['status'];
export type ResultCountKey = `${ResultDisposition}:${ResultStatus}`;

/** The registry as commands use it (Registry is one): a device's declared commands and message limit. */
export interface DeviceLookup {
  get(id: string): { record: DeviceRecord } | undefined;
}

export interface Commands extends CommandInbox {
  /** Device results taken by this process since start, by disposition and status (for /metrics). */
  readonly resultCounts: ReadonlyMap<ResultCountKey, number>;
  /** Resumes pending commands (overdue ones end); before any device connects. */
  open(): Promise<void>;
  close(): Promise<void>;
  /**
   * Checks and stores a new command, then sends it if the device takes
   * commands now. A repeated idempotency key returns the first command
   * (`created: false`) for the same name and params, else rejects with
   * `idempotency_conflict`. Rejects with a ProtocolError, storing nothing.
   */
  create(deviceId: string, request: CommandRequest, opts: CreateOptions, now?: number): Promise<{ command: CommandView; created: boolean }>;
  get(id: string): Promise<CommandView | undefined>;
  /** A device's commands, newest first; `before` is the `next` of the previous page. */
  list(deviceId: string, page: { limit: number; before?: string }): Promise<CommandListResponse>;
  /** Ends a command that has not ended (`cancelled`); `command_finished` if it has. */
  cancel(id: string, actor: string, now?: number): Promise<CommandView>;
  /** Every stored command by state, each state present (0 when none). */
  countByState(): Promise<Partial<Record<CommandState, number>>>;
}
