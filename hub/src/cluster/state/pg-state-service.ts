/**
 * Device shadows shared by every node through PostgreSQL [FP-4.3], with the
 * rules of shadow.ts. Nothing is cached: a node may not hold a device, and a
 * copy another node changed would be stale, so every read and change reads
 * the row. A change locks the row, applies the rule to what is committed and
 * writes it back by compare-and-set on the row's `rev` (`UPDATE … WHERE rev
 * = $n RETURNING`); an `ifVersion` patch that finds the version moved is 409
 * version_conflict, so of patches racing on one version exactly one wins
 * cluster-wide. `state.desired` is recorded in the same transaction.
 * (Optimistic retries without the lock starved a patch racing a device's
 * steady reports on this 2-core machine: 16 lost rounds in a row.)
 *
 * The node that holds the device sends it `desired`: this node when it has
 * the device's ready link, else the owner, told through `notifyOwner`, whose
 * `resendDesired` reads the row and sends it. Reports come from the holding
 * node only.
 */
import { ProtocolError, type DesiredMessage, type DesiredPatchRequest, type DeviceStateView, type StateMessage } from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { TransactionalAudit } from '../../audit/audit-log.js';
import type { DeviceLink } from '../../core/device-link.js';
import type { EventBus } from '../../events/event-bus.js';
import { checkDesired } from '../../state/desired-checks.js';
import { checkDesiredSize, sendDesired } from '../../state/desired-delivery.js';
import { desiredAuditInput, type DesiredPatchOptions, type DeviceLookup, type DeviceStates, type StateCounters } from '../../state/device-states.js';
import { applyReported, desiredMessage, emptyShadow, patchDesired, toView, type Shadow } from '../../state/shadow.js';
import { encodeEntries, encodeRefused, shadowFromColumns, type ShadowColumns } from '../../state/shadow-codec.js';
import type { QueryResult, QueryResultRow } from 'pg';
import { StorageUnavailableError, type PgDatabase, type Queryable } from '../pg/pg-database.js';

/** The pool or a transaction's connection: what one statement runs on. */
interface Sql {
  query<R extends QueryResultRow>(sql: string, params: unknown[]): Promise<QueryResult<R>>;
}

export interface PgStateServiceOptions {
  /** The node's pool; its owner runs STATE_MIGRATIONS before open(). */
  db: PgDatabase;
  registry: DeviceLookup;
  events: EventBus;
  /** The device's connection on this node if it takes desired state now (DeviceGateway.readyLink(id, 'desired')). */
  linkOf: (deviceId: string) => DeviceLink | undefined;
  /**
   * A desired change committed here for a device this node has no ready link
   * to: tell the node that holds it (if any) to call its resendDesired(id).
   * Lost notices are made good by the next connect, which always sends desired.
   */
  notifyOwner?: (deviceId: string) => void;
  /** Where `state.desired` is recorded, inside the change's transaction. */
  audit?: TransactionalAudit<Queryable>;
  log: Logger;
}

/** Another node wrote the row between this transaction's read and write: roll back and run again. */
class RowAppeared extends Error {
  constructor() {
    super('the device state row changed under a compare-and-set');
  }
}

interface Loaded {
  shadow: Shadow;
  /** 0: no row yet. */
  rev: number;
}

interface Row extends Omit<ShadowColumns, 'version' | 'reported_version'> {
  rev: string;
  version: string;
  reported_version: string | null;
}

export class PgStateService implements DeviceStates {
  readonly counters: StateCounters = { desiredRefused: 0, tooLargeForDevice: 0 };
  /** The highest desired version sent on each link: an older read that resolves late is not sent after a newer one. */
  private readonly sentOn = new WeakMap<DeviceLink, number>();

  constructor(readonly options: PgStateServiceOptions) {}

  async open(): Promise<void> {
    this.options.events.on(this, 'deviceRemoved', (e) => void this.drop(e.deviceId));
  }

  async close(): Promise<void> {
    this.options.events.removeAllFor(this);
  }

  async view(deviceId: string): Promise<DeviceStateView> {
    return toView(deviceId, (await this.load(deviceId)).shadow);
  }

  async patchDesired(deviceId: string, patch: DesiredPatchRequest, options: DesiredPatchOptions = {}): Promise<DeviceStateView> {
    const entry = this.options.registry.get(deviceId);
    if (!entry) throw new ProtocolError('not_found', `no device ${JSON.stringify(deviceId)}`);
    const now = options.now ?? Date.now();
    const { current, next } = await this.locked(deviceId, async (tx, current, rev) => {
      if (patch.ifVersion !== undefined && patch.ifVersion !== current.version) {
        throw new ProtocolError('version_conflict', `ifVersion is ${patch.ifVersion}, the current version is ${current.version}`);
      }
      checkDesired(entry.record, patch.state);
      const next = patchDesired(current, patch.state, now);
      if (next) {
        checkDesiredSize(this.options.registry, deviceId, current, next);
        await this.compareAndSet(tx, deviceId, rev, next);
      }
      // An unchanged patch is still the operator's request, recorded as on one node.
      await this.audit(tx, options.actor, deviceId, patch, (next ?? current).version);
      return { current, next };
    });
    if (!next) return toView(deviceId, current);
    this.changed(deviceId, next);
    const link = this.options.linkOf(deviceId);
    if (link) this.send(deviceId, desiredMessage(next), link);
    else this.options.notifyOwner?.(deviceId);
    return toView(deviceId, next);
  }

  /** A new connection on this node takes desired state: the complete document, its version and delta [FP-4.3]. Never rejects. */
  async deviceReady(deviceId: string, link: DeviceLink): Promise<void> {
    try {
      this.send(deviceId, desiredMessage((await this.load(deviceId)).shadow), link);
    } catch (err) {
      // The next connect sends it again; a node that cannot reach PostgreSQL refuses connects anyway.
      this.options.log.error({ err, deviceId }, 'reading desired state for a connecting device failed');
    }
  }

  /** The owner's side of notifyOwner: send the device the desired state as stored now, if it is connected here. Never rejects. */
  async resendDesired(deviceId: string): Promise<void> {
    const link = this.options.linkOf(deviceId);
    if (link) await this.deviceReady(deviceId, link);
  }

  /**
   * Reported state [FP-4.3] from a device this node holds; resolves once
   * stored, so the transport may acknowledge it. A report that drifted from
   * desired gets desired back on the device's link.
   */
  async reported(deviceId: string, message: StateMessage, now: number): Promise<void> {
    const outcome = await this.locked(deviceId, async (tx, current, rev) => {
      const outcome = applyReported(current, message, now);
      await this.compareAndSet(tx, deviceId, rev, outcome.shadow);
      return outcome;
    });
    if (outcome.newRefusals.length > 0) {
      this.counters.desiredRefused += outcome.newRefusals.length;
      // Device input, not an operator action: logged and counted, not audited.
      this.options.log.info({ deviceId, keys: outcome.newRefusals }, 'device refused desired state');
    }
    this.changed(deviceId, outcome.shadow);
    const link = outcome.drifted ? this.options.linkOf(deviceId) : undefined;
    if (link) this.send(deviceId, desiredMessage(outcome.shadow), link);
  }

  /**
   * Runs `change` in a transaction holding the device's row (FOR UPDATE):
   * changes of one device on any node run one after the other, each on what
   * the one before committed, so none is lost and none starves. A device
   * with no row has nothing to lock: when another node inserts it first,
   * the insert conflicts and the change runs again on that row.
   */
  private async locked<T>(deviceId: string, change: (tx: Queryable, current: Shadow, rev: number) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.inTransaction(deviceId, async (tx) => {
          const { shadow, rev } = await this.load(deviceId, tx);
          return change(tx, shadow, rev);
        });
      } catch (err) {
        if (!(err instanceof RowAppeared) || attempt >= 3) throw err;
      }
    }
  }

  /** The device's shadow; inside a transaction, locked until it ends. */
  private async load(deviceId: string, tx?: Sql): Promise<Loaded> {
    const sql = `SELECT rev, version, reported_version, reported, desired, refused FROM device_state WHERE device_id = $1${tx ? ' FOR UPDATE' : ''}`;
    const result = tx ? await tx.query<Row>(sql, [deviceId]) : await this.store(deviceId, (q) => q.query<Row>(sql, [deviceId]));
    const row = result.rows[0];
    if (!row) return { shadow: emptyShadow(), rev: 0 };
    const reportedVersion = row.reported_version === null ? null : Number(row.reported_version);
    return { shadow: shadowFromColumns({ ...row, version: Number(row.version), reported_version: reportedVersion }), rev: Number(row.rev) };
  }

  /**
   * Writes `next` if the row is still at `rev` (absent for 0). Under the row
   * lock only a first insert can meet another (RowAppeared, rolled back and
   * run again); the rev condition keeps any other path from overwriting.
   */
  private async compareAndSet(q: Sql, deviceId: string, rev: number, next: Shadow): Promise<void> {
    const values = [deviceId, next.version, next.reportedVersion, encodeEntries(next.reported), encodeEntries(next.desired), encodeRefused(next.refused)];
    const result =
      rev === 0
        ? await q.query(
            `INSERT INTO device_state (device_id, rev, version, reported_version, reported, desired, refused) VALUES ($1, 1, $2, $3, $4, $5, $6)
             ON CONFLICT (device_id) DO NOTHING RETURNING rev`,
            values,
          )
        : await q.query(
            `UPDATE device_state SET rev = rev + 1, version = $2, reported_version = $3, reported = $4, desired = $5, refused = $6
             WHERE device_id = $1 AND rev = $7 RETURNING rev`,
            [...values, rev],
          );
    if (result.rowCount !== 1) throw new RowAppeared();
  }

  private async audit(tx: Queryable, actor: string | undefined, deviceId: string, patch: DesiredPatchRequest, version: number): Promise<void> {
    if (actor === undefined || !this.options.audit) return;
    await this.options.audit.recordIn(tx, desiredAuditInput(actor, deviceId, patch, version));
  }

  /** One statement on the pool; an unreachable server is 503 storage_unavailable, as on one node. */
  private async store<T>(deviceId: string, fn: (q: Sql) => Promise<T>): Promise<T> {
    try {
      return await fn(this.options.db);
    } catch (err) {
      throw this.unavailable(err, deviceId);
    }
  }

  private async inTransaction<T>(deviceId: string, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    try {
      return await this.options.db.transaction(fn);
    } catch (err) {
      throw this.unavailable(err, deviceId);
    }
  }

  private unavailable(err: unknown, deviceId: string): unknown {
    if (!(err instanceof StorageUnavailableError)) return err;
    this.options.log.error({ err: err.message, deviceId }, 'device state could not be read or stored');
    return new ProtocolError('storage_unavailable', 'device state could not be stored');
  }

  private changed(deviceId: string, next: Shadow): void {
    this.options.events.emit('state', { state: toView(deviceId, next) });
  }

  private send(deviceId: string, message: DesiredMessage, link: DeviceLink): void {
    // Reads on different connections can resolve out of order: never send an older version after a newer one.
    if ((this.sentOn.get(link) ?? -1) > message.version) return;
    this.sentOn.set(link, message.version);
    sendDesired({ registry: this.options.registry, counters: this.counters, log: this.options.log }, deviceId, message, link);
  }

  private async drop(deviceId: string): Promise<void> {
    try {
      await this.options.db.query('DELETE FROM device_state WHERE device_id = $1', [deviceId]);
    } catch (err) {
      // A row left behind is found again by the next delete of that id; a device created anew meets it only if this failed.
      this.options.log.error({ err, deviceId }, 'deleting device state failed');
    }
  }
}
