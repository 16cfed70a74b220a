/**
 * The cluster's one PostgreSQL connection pool. Every durable record of a
 * cluster lives behind it (docs/design.md: cluster mode). A query or transaction
 * that cannot reach the server rejects with StorageUnavailableError, which
 * callers turn into `503 storage_unavailable` (API) or an unacknowledged
 * message (devices resend); nothing is acknowledged that was not committed.
 */
import pg from 'pg';
import type { Logger } from 'pino';

export interface PgDatabaseOptions {
  url: string;
  /** Connections per node; PostgreSQL's max_connections must cover nodes × this. */
  maxConnections?: number;
  /** How long a query may wait for a free connection or for the server. */
  connectTimeoutMs?: number;
  /** A statement running longer than this is cancelled by the server. */
  statementTimeoutMs?: number;
  /**
   * Client-side bound on one query: past it the query rejects and its
   * connection is dropped. For work that must notice a hung or unreachable
   * server quickly whatever the server does (the node lease); unset = none.
   */
  queryTimeoutMs?: number;
  /** Names the connections in pg_stat_activity. */
  applicationName?: string;
  log: Logger;
}

/** Raised when PostgreSQL cannot be reached or a connection broke mid-query. */
export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const WRITES = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

export type Queryable = Pick<pg.PoolClient, 'query'>;

export class PgDatabase {
  private readonly pool: pg.Pool;
  /** Commits since start: engine work per message in the cluster benchmark. */
  commits = 0;

  constructor(private readonly options: PgDatabaseOptions) {
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      statement_timeout: options.statementTimeoutMs ?? 10_000,
      ...(options.queryTimeoutMs === undefined ? {} : { query_timeout: options.queryTimeoutMs }),
      application_name: options.applicationName ?? 'iot-hub',
      // Without keep-alive a server that vanished (cable, kill -9 of a VM) is noticed only at the next query's timeout.
      keepAlive: true,
    });
    // An idle connection that breaks (server restart) must not crash the process: the pool drops it.
    this.pool.on('error', (err) => options.log.warn({ err: err.message }, 'an idle PostgreSQL connection failed; the pool replaces it'));
  }

  /** One statement outside a transaction (autocommit). */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: readonly unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      const result = await this.pool.query<R>(sql, params as unknown[]);
      // By what the statement did, not how it starts: a WITH … UPDATE writes too.
      if (WRITES.has(result.command)) this.commits++;
      return result;
    } catch (err) {
      throw asUnavailable(err);
    }
  }

  /**
   * Runs fn in one transaction (READ COMMITTED): COMMIT when it resolves,
   * ROLLBACK when it throws. Its error is rethrown as it was unless the
   * server could not be reached (StorageUnavailableError).
   */
  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw asUnavailable(err);
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      this.commits++;
      return result;
    } catch (err) {
      broken = isConnectionError(err);
      if (!broken) await client.query('ROLLBACK').catch(() => (broken = true));
      throw asUnavailable(err);
    } finally {
      // A connection that failed mid-transaction is not given back to the pool.
      client.release(broken);
    }
  }

  /**
   * Holds a session-level advisory lock while fn runs, on one dedicated
   * connection: waits for it (migrations at start) when `wait`, else
   * resolves null at once if another session holds it (one sweeper at a time).
   */
  async withAdvisoryLock<T>(key: number, wait: boolean, fn: (session: Queryable) => Promise<T>): Promise<T | null> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw asUnavailable(err);
    }
    let broken = false;
    try {
      if (wait) await client.query('SELECT pg_advisory_lock($1)', [key]);
      else {
        const got = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [key]);
        if (!got.rows[0]?.locked) return null;
      }
      try {
        return await fn(client);
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => (broken = true));
      }
    } catch (err) {
      broken ||= isConnectionError(err);
      throw asUnavailable(err);
    } finally {
      client.release(broken);
    }
  }

  /** Connections in use and waiting (for /metrics). */
  poolStats(): { total: number; idle: number; waiting: number } {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Errors that mean "the server could not be reached", not "the statement was refused". */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof StorageUnavailableError) return true;
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  // Node socket errors, and PostgreSQL's class 08 (connection exception) and 57P (operator intervention: shutdown).
  if (/^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND)$/.test(code) || code.startsWith('08') || code.startsWith('57P')) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|Query read timeout/i.test(message);
}

function asUnavailable(err: unknown): unknown {
  if (err instanceof StorageUnavailableError || !isConnectionError(err)) return err;
  return new StorageUnavailableError(`PostgreSQL is unreachable: ${(err as Error).message}`, { cause: err });
}
