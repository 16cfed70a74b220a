/**
 * Tables of device ownership, presence and node leases (docs/design.md: cluster
 * mode, "device ownership + presence" and "node liveness").
 *
 * - `cluster_nodes`: one lease per node id. `expires_at` is set from the
 *   database's clock (now() + TTL) so nodes' clocks never matter; a node
 *   that starts again under the same id writes its new `boot_id` over the
 *   old one, and the devices still owned by the old boot count as lost.
 * - `device_presence`: one row per device that ever connected: its owner
 *   (node, boot), the ownership `epoch` (from one sequence, so a later
 *   claim always has a higher epoch) and its presence. The `prev_*`
 *   columns hold the owner that the latest claim replaced, so a claim
 *   learns the previous owner in the same statement that takes the row.
 */
import type { Migration } from '../pg/migrations.js';

export const OWNERSHIP_MIGRATIONS: readonly Migration[] = [
  {
    id: 'ownership-1',
    sql: `
      CREATE TABLE cluster_nodes (
        node_id TEXT PRIMARY KEY,
        boot_id TEXT NOT NULL,
        started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        renewed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        expires_at TIMESTAMPTZ NOT NULL
      );
      CREATE SEQUENCE device_owner_epoch;
      CREATE TABLE device_presence (
        device_id TEXT PRIMARY KEY,
        node_id TEXT NOT NULL,
        boot_id TEXT NOT NULL,
        epoch BIGINT NOT NULL,
        online BOOLEAN NOT NULL,
        reason TEXT NOT NULL,
        since_ms BIGINT NOT NULL,
        transport TEXT,
        prev_node_id TEXT,
        prev_epoch BIGINT,
        prev_online BOOLEAN
      );
      -- The reaper and a node's own audit read only online rows, by owner.
      CREATE INDEX device_presence_online_owner ON device_presence (node_id, boot_id) WHERE online;
    `,
  },
];

/** Presence reason of devices whose owner node's lease expired (the node died or was cut off). */
export const NODE_LOST = 'node-lost';

/**
 * Advisory lock key of the reaper: one node reaps at a time. Keys of the
 * hub's locks must differ (migrations hold 0x1070001).
 */
export const REAPER_LOCK = 0x10_7_0100;
