/**
 * The storage seam for the device registry. SQLite now; PostgreSQL when
 * several hubs share one registry (docs/design.md: scale-out).
 */
import type { Capabilities, Transport } from '@iot-hub/protocol';

export interface DeviceRecord {
  id: string;
  kind: string;
  name: string;
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
  saveCapabilities(id: string, capabilities: Capabilities): Promise<void>;
  saveLastSeen(entries: readonly { id: string; lastSeen: number; transport: Transport | null }[]): Promise<void>;
}
