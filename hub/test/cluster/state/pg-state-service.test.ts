/**
 * The device state contract over PostgreSQL, then what only a shared
 * database adds: ifVersion patches racing on three nodes (exactly one wins),
 * reports on the owner racing patches on other nodes (nothing lost), desired
 * state reaching a device held by another node, the audit entry committing
 * with its change, and 503 while PostgreSQL is away.
 */
import t, { type Test } from 'tap';
import { ProtocolError } from '@iot-hub/protocol';
import { AuditLog, type TransactionalAudit } from '../../../src/audit/audit-log.js';
import { AUDIT_MIGRATIONS } from '../../../src/cluster/audit/audit-migrations.js';
import { PgAuditStore } from '../../../src/cluster/audit/pg-audit-store.js';
import { migrate } from '../../../src/cluster/pg/migrations.js';
import type { PgDatabase, Queryable } from '../../../src/cluster/pg/pg-database.js';
import { PgStateService, type PgStateServiceOptions } from '../../../src/cluster/state/pg-state-service.js';
import { STATE_MIGRATIONS } from '../../../src/cluster/state/state-migrations.js';
import { EventBus } from '../../../src/events/event-bus.js';
import { createLogger } from '../../../src/log.js';
import { postgresForTest, type PgForTest } from '../../helpers/postgres.js';
import { Devices, RecordingLink, stateServiceContract, type StateBacking } from '../../state/state-service-contract.js';

// One server for the file; each test starts from empty tables.
const started = await postgresForTest(t);
if (started) await suite(started, started.connect());

async function suite(pg: PgForTest, admin: PgDatabase): Promise<void> {
  await migrate(admin, [AUDIT_MIGRATIONS, STATE_MIGRATIONS]);
  const log = createLogger('silent');

  async function fresh(t: Test): Promise<{ audit: AuditLog<Queryable> }> {
    await admin.query('TRUNCATE device_state, audit_log RESTART IDENTITY');
    const audit = new AuditLog<Queryable>({ store: new PgAuditStore(pg.connect()), events: new EventBus(), log });
    await audit.open();
    t.teardown(() => audit.close());
    return { audit };
  }

  /** A node: its own pool, bus and links. */
  async function node(t: Test, devices: Devices, more: Partial<PgStateServiceOptions> = {}) {
    const links = new Map<string, RecordingLink>();
    const events = new EventBus();
    const state = new PgStateService({ db: pg.connect(), registry: devices, events, linkOf: (id) => links.get(id), log, ...more });
    await state.open();
    t.teardown(() => state.close());
    return { state, links, events };
  }

  t.test('contract', async (t) => {
    stateServiceContract(t, async (t): Promise<StateBacking> => {
      const { audit } = await fresh(t);
      return {
        audit,
        async open(parts) {
          const state = new PgStateService({ db: pg.connect(), audit, ...parts, log });
          await state.open();
          t.teardown(() => state.close());
          return state;
        },
      };
    });
  });

  t.test('ifVersion patches racing on three nodes: exactly one wins each round, the others are 409', async (t) => {
    const { audit } = await fresh(t);
    const devices = new Devices().add('plug-1');
    const nodes = await Promise.all([0, 1, 2].map(() => node(t, devices, { audit })));
    const ROUNDS = 12;
    // Each round's values are new, so no patch is an unchanged one (which would succeed without a change).
    for (let round = 0; round < ROUNDS; round += 1) {
      const outcomes = await Promise.allSettled(
        nodes.map(({ state }, n) => state.patchDesired('plug-1', { state: { level: round * 3 + n + 1 }, ifVersion: round }, { actor: `node${n}` })),
      );
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      t.equal(won.length, 1, `round ${round}: one success`);
      t.same(
        lost.map((o) => [(o.reason as ProtocolError).error, (o.reason as ProtocolError).message]),
        [0, 1].map(() => ['version_conflict', new ProtocolError('version_conflict', `ifVersion is ${round}, the current version is ${round + 1}`).message]),
        `round ${round}: the others conflict with the version the winner made`,
      );
    }
    t.equal((await nodes[0]!.state.view('plug-1')).version, ROUNDS, 'one version per round');
    const { entries } = await audit.list({ limit: 100, action: 'state.desired' });
    t.equal(entries.length, ROUNDS, 'one audit entry per winning patch');
    t.same(entries.map((e) => e.details.version).sort((a, b) => (a as number) - (b as number)), Array.from({ length: ROUNDS }, (_, i) => i + 1));
  });

  t.test('reports on the owner racing patches on two other nodes: no key of either is lost', async (t) => {
    await fresh(t);
    const devices = new Devices().add('plug-1');
    const [owner, b, c] = await Promise.all([0, 1, 2].map(() => node(t, devices)));
    const N = 20;
    await Promise.all([
      (async () => {
        for (let i = 0; i < N; i += 1) await owner!.state.reported('plug-1', { v: 1, type: 'state', state: { [`r${i}`]: i } }, 1000 + i);
      })(),
      (async () => {
        for (let i = 0; i < N; i += 2) await b!.state.patchDesired('plug-1', { state: { [`d${i}`]: i } });
      })(),
      (async () => {
        for (let i = 1; i < N; i += 2) await c!.state.patchDesired('plug-1', { state: { [`d${i}`]: i } });
      })(),
    ]);
    const view = await owner!.state.view('plug-1');
    t.same(Object.keys(view.reported).sort(), Array.from({ length: N }, (_, i) => `r${i}`).sort(), 'every reported key');
    t.same(Object.keys(view.desired).sort(), Array.from({ length: N }, (_, i) => `d${i}`).sort(), 'every desired key');
    t.equal(view.version, N, 'one version per desired change');
  });

  t.test('desired set on a node without the device reaches it through its owner', async (t) => {
    await fresh(t);
    const devices = new Devices().add('plug-1');
    const notified: string[] = [];
    const owner = await node(t, devices);
    const other = await node(t, devices, { notifyOwner: (id) => notified.push(id) });
    const link = new RecordingLink();
    owner.links.set('plug-1', link);
    await other.state.patchDesired('plug-1', { state: { power: true } });
    t.same(notified, ['plug-1'], 'the other node has no link: it notifies the owner');
    t.same(link.sent, [], 'nothing reached the device yet');
    await owner.state.resendDesired('plug-1');
    t.same(link.sent, [{ v: 1, type: 'desired', state: { power: true }, version: 1, delta: { power: true } }]);
    await owner.state.patchDesired('plug-1', { state: { power: false } });
    t.equal(link.sent.length, 2, 'the owner sends on its own link');
    t.same(notified, ['plug-1'], 'and notifies nobody');
    await other.state.resendDesired('plug-1');
    t.equal(link.sent.length, 2, 'a node without the device sends nothing on resend');
  });

  t.test('the audit entry commits with the change: an audit failure leaves the state as it was', async (t) => {
    await fresh(t);
    const devices = new Devices().add('plug-1');
    const failing: TransactionalAudit<Queryable> = {
      recordIn: async (tx) => {
        await tx.query('SELECT 1');
        throw new Error('audit insert failed');
      },
    };
    const { state, events } = await node(t, devices, { audit: failing });
    const seen: number[] = [];
    events.on(seen, 'state', (e) => seen.push(e.state.version));
    await t.rejects(state.patchDesired('plug-1', { state: { power: true } }, { actor: 'alice' }), /audit insert failed/);
    t.equal((await state.view('plug-1')).version, 0, 'the change rolled back');
    t.same(seen, [], 'and was never announced');
    t.equal((await state.patchDesired('plug-1', { state: { power: true } })).version, 1, 'without an actor there is nothing to record');
  });

  t.test('PostgreSQL away: patches, reports and reads are 503 storage_unavailable; a connect sends nothing and does not throw', async (t) => {
    await fresh(t);
    const devices = new Devices().add('plug-1');
    const { state } = await node(t, devices);
    await state.patchDesired('plug-1', { state: { power: true } });
    await pg.server.kill();
    const unavailable = new ProtocolError('storage_unavailable', 'device state could not be stored');
    await t.rejects(state.patchDesired('plug-1', { state: { power: false } }), unavailable);
    await t.rejects(state.reported('plug-1', { v: 1, type: 'state', state: { power: false } }, 1), unavailable);
    await t.rejects(state.view('plug-1'), unavailable);
    const link = new RecordingLink();
    await state.deviceReady('plug-1', link);
    t.same(link.sent, []);
    await pg.server.restart();
    t.equal((await state.view('plug-1')).version, 1, 'what was committed is there');
  });
}
