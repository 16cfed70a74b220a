/**
 * Simulated cluster nodes in one process for ownership tests: each has its
 * own pool (as a node process would), its own lease on a lease pool, and an
 * OwnershipStore bound to its id and boot.
 */
import pino from 'pino';
import { migrate } from '../../src/cluster/pg/migrations.js';
import type { PgDatabase } from '../../src/cluster/pg/pg-database.js';
import { NodeLease, type NodeLeaseOptions } from '../../src/cluster/ownership/node-lease.js';
import { OwnershipStore } from '../../src/cluster/ownership/ownership-store.js';
import type { PgForTest } from './postgres.js';

export interface TestNode {
  id: string;
  db: PgDatabase;
  lease: NodeLease;
  store: OwnershipStore;
}

interface TapLike {
  teardown(fn: () => unknown): void;
}

/** A node with its lease started (unless `start: false`); the lease stops at teardown. */
export async function startNode(
  t: TapLike,
  pg: PgForTest,
  id: string,
  options: { ttlMs: number; start?: boolean; bootId?: string } & Pick<NodeLeaseOptions, 'onFenced' | 'onRejoined'>,
): Promise<TestNode> {
  const db = pg.connect();
  await migrate(db);
  const interval = options.ttlMs / 5;
  const leaseDb = pg.connect({ maxConnections: 1, connectTimeoutMs: interval, queryTimeoutMs: interval });
  const lease = new NodeLease(leaseDb, { nodeId: id, log: pino({ level: 'silent' }), ...options });
  t.teardown(() => lease.stop().catch(() => undefined));
  if (options.start !== false) await lease.start();
  return { id, db, lease, store: new OwnershipStore(db, { nodeId: id, bootId: lease.bootId }) };
}

/** A deterministic pseudo-random generator (mulberry32): a failing run repeats with its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
