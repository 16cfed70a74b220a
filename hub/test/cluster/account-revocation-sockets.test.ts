/**
 * Dashboard sockets on node A, accounts changed on node B (one PostgreSQL
 * pool each): a token deleted or a session ended on B closes A's socket
 * (4401) as soon as A hears of it (revokedElsewhere, what the cluster bus
 * calls), and at A's next recheck (its heartbeat) if that message was lost.
 * While PostgreSQL is away a new socket is refused 503 and open ones stay.
 */
import t, { type Test } from 'tap';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { DASHBOARD_SUBPROTOCOL } from '@iot-hub/protocol';
import { Accounts } from '../../src/auth/accounts.js';
import { SESSION_COOKIE } from '../../src/auth/http-auth.js';
import { socketAuthenticator } from '../../src/auth/socket-auth.js';
import { PgAccountStore } from '../../src/cluster/auth/pg-account-store.js';
import { migrate } from '../../src/cluster/pg/migrations.js';
import type { PgDatabase } from '../../src/cluster/pg/pg-database.js';
import { EventBus } from '../../src/events/event-bus.js';
import { DashboardEndpoint } from '../../src/live/dashboard-endpoint.js';
import type { Registry } from '../../src/registry/registry.js';
import { jsonSocket, upgradeStatus, type JsonSocket } from '../helpers/clients.js';
import { postgresForTest } from '../helpers/postgres.js';

function accountsOn(db: PgDatabase): Accounts {
  return new Accounts({
    store: new PgAccountStore(db),
    adminAuth: { verify: () => false, generatedToken: null },
    sessionIdleMs: 10 * 60_000,
    sessionMaxMs: 60 * 60_000,
    log: pino({ level: 'silent' }),
  });
}

/** Node A's dashboard endpoint on a port of its own, wired to its accounts as hub.ts wires them. */
async function dashboardsOn(t: Test, accounts: Accounts): Promise<{ url: string; dashboards: DashboardEndpoint }> {
  const dashboards = new DashboardEndpoint({
    // No device is asked about here: socket auth is what is under test.
    registry: { get: () => undefined, all: () => [] } as unknown as Registry,
    events: new EventBus(),
    authenticate: socketAuthenticator(accounts),
    origins: { allowed: [], secure: false },
    maxSubscriptions: 10,
    maxSocketsPerUser: 10,
    log: pino({ level: 'silent' }),
  });
  accounts.onRevoked(() => void dashboards.recheck());
  const server: Server = createServer();
  server.on('upgrade', (req, socket, head) => void dashboards.handleUpgrade(req, socket, head));
  dashboards.start();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    await dashboards.stop();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws/dashboard`, dashboards };
}

async function pong(socket: JsonSocket, id: number): Promise<unknown> {
  socket.send({ id, op: 'ping' });
  return (await socket.next((f) => f.id === id)).status;
}

t.test('revocations on node B close sockets on node A', async (t) => {
  const pg = await postgresForTest(t);
  if (!pg) return;
  const [a, b] = [pg.connect(), pg.connect()];
  await migrate(a);
  const [onA, onB] = [accountsOn(a), accountsOn(b)];
  const { url, dashboards } = await dashboardsOn(t, onA);

  const vera = await onB.addUser('vera', 'viewer', 'vera-password');
  await onB.addUser('otto', 'operator', 'otto-password');
  const token = await onB.store.createToken('wall', 'viewer', { id: vera.id, name: 'vera' });
  const veraLogin = await onB.login('vera', 'vera-password');
  const ottoLogin = await onB.login('otto', 'otto-password');

  const byToken = await jsonSocket(t, url, { protocols: [DASHBOARD_SUBPROTOCOL, `bearer.${token!.token}`] });
  const bySession = await jsonSocket(t, url, { protocols: [DASHBOARD_SUBPROTOCOL], headers: { cookie: `${SESSION_COOKIE}=${veraLogin!.sessionId}` } });
  const otto = await jsonSocket(t, url, { protocols: [DASHBOARD_SUBPROTOCOL], headers: { cookie: `${SESSION_COOKIE}=${ottoLogin!.sessionId}` } });
  t.equal(await pong(byToken, 1), 'ok', 'a token made on B opens a socket on A');
  t.equal(await pong(bySession, 1), 'ok', 'a session made on B opens a socket on A');

  await onB.deleteToken(token!.record.id);
  t.equal(await pong(byToken, 2), 'ok', 'until A hears of it, the socket is open');
  onA.revokedElsewhere();
  t.equal((await byToken.closed).code, 4401, 'closed once the bus tells A');

  // The bus message is lost: A's heartbeat recheck (the bound on a lost message) closes it.
  await onB.logout(veraLogin!.sessionId);
  await dashboards.recheck();
  t.equal((await bySession.closed).code, 4401, 'closed at the next recheck without any message');
  t.equal(await pong(otto, 2), 'ok', "another user's socket stays");

  t.equal(await upgradeStatus(jsonSocket(t, url, { protocols: [DASHBOARD_SUBPROTOCOL, `bearer.${token!.token}`] })), 401, 'the deleted token opens nothing on A');

  await pg.server.kill();
  t.equal(await upgradeStatus(jsonSocket(t, url, { protocols: [DASHBOARD_SUBPROTOCOL], headers: { cookie: `${SESSION_COOKIE}=${ottoLogin!.sessionId}` } })), 503, 'PostgreSQL away: 503');
  await dashboards.recheck();
  t.equal(await pong(otto, 3), 'ok', 'an open socket is not closed because its check could not run');
  await pg.server.restart();
  await onB.deleteUser((await onB.store.userByName('otto'))!.id);
  onA.revokedElsewhere();
  t.equal((await otto.closed).code, 4401, 'a user deleted on B: their socket on A closes');
});
