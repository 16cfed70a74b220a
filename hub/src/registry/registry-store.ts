/**
 * The storage seam for the device registry. SQLite now; PostgreSQL when
 * several hubs share one registry (docs/design.md: scale-out).
 */
import type { Capabilities, Transport } from '@iot-hub/protocol';

export interface DeviceRecord {
  id: string;
  kind: string;
  name: string;
  /** Operator-given; null when not set. */
  room: string | null;
  /** Operator-given, sorted, each once. Replaced whole on a change, never changed in place (see Registry.scopeOf). */
  labels: readonly string[];
  /** SHA-256 of the device token; the token itself is never stored. */
  tokenHash: string;
  /** When the current token was issued (provisioning or the last rotation). */
  tokenIssuedAt: number;
  /** Set when the token was revoked: no token authenticates until it is rotated. */
  tokenRevokedAt: number | null;
  createdAt: number;
  capabilities: Capabilities | null;
  lastSeen: number | null;
  lastTransport: Transport | null;
}

/** What an operator may change of a device after provisioning (PATCH /api/devices/{id}). */
export interface DeviceAttributes {
  name: string;
  room: string | null;
  labels: readonly string[];
}

export interface RegistryStore {
  open(): Promise<void>;
  close(): Promise<void>;
  loadAll(): Promise<DeviceRecord[]>;
  /** Inserts a new device; resolves false when the id exists. */
  insert(record: DeviceRecord): Promise<boolean>;
  /** Resolves false when there was no such device. */
  delete(id: string): Promise<boolean>;
  /** Replaces the token hash and clears a revocation. Resolves false when there was no such device. */
  saveToken(id: string, tokenHash: string, issuedAt: number): Promise<boolean>;
  /** Marks the token revoked. Resolves false when there was no such device. */
  revokeToken(id: string, revokedAt: number): Promise<boolean>;
  /** Replaces the operator-given name, room and labels. Resolves false when there was no such device. */
  saveAttributes(id: string, attributes: DeviceAttributes): Promise<boolean>;
  saveCapabilities(id: string, capabilities: Capabilities): Promise<void>;
  saveLastSeen(entries: readonly { id: string; lastSeen: number; transport: Transport | null }[]): Promise<void>;
}
