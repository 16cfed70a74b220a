/**
 * Who did what to which device, when, and how it ended.
 * SKELETON: signatures only; the implementation lands next.
 */
import type { AuditAction, AuditEntry, AuditListResponse } from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { EventBus } from '../core/events.js';

export interface AuditLogOptions {
  /** SQLite file (shared with the command and state stores, each with its own tables). */
  file: string;
  /** Command events fill in the outcome of `command.create` entries. */
  events: EventBus;
  log: Logger;
}

export interface AuditInput {
  actor: string;
  action: AuditAction;
  deviceId: string | null;
  commandId?: string | null;
  details: Record<string, unknown>;
  outcome?: string | null;
}

export interface AuditFilter {
  deviceId?: string;
  actor?: string;
  action?: AuditAction;
  from?: number;
  to?: number;
  limit: number;
  before?: string;
}

export class AuditLog {
  constructor(readonly options: AuditLogOptions) {}

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  record(_input: AuditInput, _now = Date.now()): AuditEntry | null {
    return null;
  }

  list(_filter: AuditFilter): AuditListResponse {
    return { entries: [], next: null };
  }
}
