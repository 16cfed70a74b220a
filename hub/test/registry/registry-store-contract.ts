/**
 * The contract every RegistryStore keeps: the SQLite store and the cluster's
 * PostgreSQL store run these same tests (sqlite-registry-store.test.ts,
 * cluster/pg-registry-store.test.ts).
 */
import type { Test } from 'tap';
import type { Capabilities } from '@iot-hub/protocol';
import type { DeviceRecord, RegistryStore } from '../../src/registry/registry-store.js';

export interface RegistryBackend {
  /**
   * An opened store on this test's storage, closed at teardown. A second
   * call is the same data seen again: a hub restart, or another node.
   */
  open(): Promise<RegistryStore>;
}

/** null: the backend's server is missing and the test was skipped (failed under CI). */
export type RegistryBackendFactory = (t: Test) => Promise<RegistryBackend | null>;

const T0 = Date.UTC(2026, 5, 1);

/** Declared metrics in an unsorted order with a `__proto__` among them (JSON.parse makes it an own key). */
export const CAPABILITIES = JSON.parse(
  '{"kind":"thermostat","fw":"1.2.0","metrics":{"zeta":{"type":"number","unit":"C"},"__proto__":{"type":"boolean"},"alpha":{"type":"number"}},"commands":{},"heartbeatSec":30,"boot":7}',
) as Capabilities;

export function device(id: string, overrides: Partial<DeviceRecord> = {}): DeviceRecord {
  return {
    id,
    kind: 'sensor',
    name: `name of ${id}`,
    room: null,
    labels: [],
    tokenHash: 'a'.repeat(64),
    tokenIssuedAt: T0,
    tokenRevokedAt: null,
    createdAt: T0,
    capabilities: null,
    lastSeen: null,
    lastTransport: null,
    ...overrides,
  };
}

export function runRegistryStoreContract(t: Test, name: string, backend: RegistryBackendFactory): void {
  t.test(`${name}: an inserted record reads back field for field, and after a reopen`, async (t) => {
    const b = await backend(t);
    if (!b) return;
    const store = await b.open();
    t.same(await store.loadAll(), [], 'empty at first');
    const plain = device('plain');
    const full = device('full', {
      kind: 'thermostat',
      // What an operator may type into a name survives: NUL (which PostgreSQL text refuses), emoji, quotes.
      name: 'Kitchen \u0000 "lamp" 🌡',
      room: 'Küche "oben" 🌡',
      labels: ['floor:1', 'zone-a'],
      tokenHash: 'b'.repeat(64),
      tokenIssuedAt: T0 + 1,
      tokenRevokedAt: T0 + 2,
      createdAt: T0 - 5,
      capabilities: CAPABILITIES,
      lastSeen: T0 + 3,
      lastTransport: 'ws',
    });
    t.equal(await store.insert(plain), true);
    t.equal(await store.insert(full), true);
    const expected = [full, plain];
    t.strictSame(await store.loadAll(), expected);
    const loaded = (await store.loadAll())[0]?.capabilities;
    t.same(Object.keys(loaded?.metrics ?? {}), ['zeta', '__proto__', 'alpha'], 'declared metrics keep their order, __proto__ as an own key');
    t.strictSame(await (await b.open()).loadAll(), expected, 'the same after a reopen');
  });

  t.test(`${name}: inserting an existing id resolves false and changes nothing`, async (t) => {
    const b = await backend(t);
    if (!b) return;
    const store = await b.open();
    t.equal(await store.insert(device('d1')), true);
    t.equal(await store.insert(device('d1', { kind: 'other', name: 'intruder', tokenHash: 'c'.repeat(64) })), false);
    t.strictSame(await store.loadAll(), [device('d1')]);
  });

  t.test(`${name}: loadAll is ordered by id byte-wise`, async (t) => {
    const b = await backend(t);
    if (!b) return;
    const store = await b.open();
    for (const id of ['b', 'a-2', 'B', 'a.1', 'A_1', '0']) await store.insert(device(id));
    t.same(
      (await store.loadAll()).map((r) => r.id),
      ['0', 'A_1', 'B', 'a-2', 'a.1', 'b'],
    );
  });

  t.test(`${name}: delete resolves true once, and the id can be provisioned again`, async (t) => {
    const b = await backend(t);
    if (!b) return;
    const store = await b.open();
    await store.insert(device('d1'));
    await store.insert(device('d2'));
    t.equal(await store.delete('d1'), true);
    t.equal(await store.delete('d1'), false);
    t.equal(await store.delete('nobody'), false);
    t.same((await store.loadAll()).map((r) => r.id), ['d2']);
    t.equal(await store.insert(device('d1', { kind: 'reborn' })), true);
    t.same((await store.loadAll()).map((r) => [r.id, r.kind]), [['d1', 'reborn'], ['d2', 'sensor']]);
  });

  t.test(`${name}: saveToken replaces the hash and issue time and ends a revocation`, async (t) => {
    const b = await backend(t);
    if (!b) return;
    const store = await b.open();
    await store.insert(device('d1', { tokenRevokedAt: T0 + 5 }));
    await store.insert(device('d2'));
    t.equal(await store.saveToken('d1', 'f'.repeat(64), T0 + 10), true);
    t.equal(await store.saveToken('nobody', 'f'.repeat(64), T0 + 10), false);
    t.strictSame(await (await b.open()).loadAll(), [device('d1', { tokenHash: 'f'.repeat(64), tokenIssuedAt: T0 + 10, tokenRevokedAt: null }), device('d2')]);
  });

  t.test(`${name}: revokeToken records the time; revoking again keeps the first`, async (t) => {
    const b = await backend(t);
    if (!b) return;
    const store = await b.open();
    await store.insert(device('d1'));
    t.equal(await store.revokeToken('d1', T0 + 7), true);
    t.equal(await store.revokeToken('d1', T0 + 9), true);
    t.equal(await store.revokeToken('nobody', T0 + 7), false);
    t.equal((await (await b.open()).loadAll())[0]?.tokenRevokedAt, T0 + 7);
  });

  t.test(`${name}: saveCapabilities replaces them; an unknown id is a no-op`, async (t) => {
    const b = await backend(t);
    if (!b) return;
    const store = await b.open();
    await store.insert(device('d1', { capabilities: { ...CAPABILITIES, heartbeatSec: 10 } }));
    await store.saveCapabilities('d1', CAPABILITIES);
    await store.saveCapabilities('nobody', CAPABILITIES);
    const records = await (await b.open()).loadAll();
    t.strictSame(records, [device('d1', { capabilities: CAPABILITIES })]);
    t.equal(JSON.stringify(records[0]?.capabilities), JSON.stringify(CAPABILITIES), 'the same JSON text: a hello equal to it costs no write');
  });

  t.test(`${name}: saveLastSeen writes many devices, skips unknown ids, takes an empty list`, async (t) => {
    const b = await backend(t);
    if (!b) return;
    const store = await b.open();
    await store.insert(device('d1'));
    await store.insert(device('d2', { lastSeen: T0, lastTransport: 'mqtt' }));
    await store.insert(device('d3'));
    await store.saveLastSeen([]);
    await store.saveLastSeen([
      { id: 'd1', lastSeen: T0 + 100, transport: 'mqtt' },
      { id: 'd2', lastSeen: T0 + 200, transport: null },
      { id: 'nobody', lastSeen: T0 + 300, transport: 'ws' },
    ]);
    t.same(
      (await (await b.open()).loadAll()).map((r) => [r.id, r.lastSeen, r.lastTransport]),
      [
        ['d1', T0 + 100, 'mqtt'],
        ['d2', T0 + 200, null],
        ['d3', null, null],
      ],
    );
  });

  t.test(`${name}: saveAttributes replaces name, room and labels; an unknown id resolves false`, async (t) => {
    const b = await backend(t);
    if (!b) return;
    const store = await b.open();
    await store.insert(device('d1', { room: 'Hall', labels: ['old'] }));
    await store.insert(device('d2'));
    t.equal(await store.saveAttributes('d1', { name: 'Lamp \u0000 "x"', room: 'Attic 🏠', labels: ['a', 'b:c', 'z_1.2'] }), true);
    t.equal(await store.saveAttributes('nobody', { name: 'n', room: null, labels: [] }), false);
    t.strictSame(await (await b.open()).loadAll(), [device('d1', { name: 'Lamp \u0000 "x"', room: 'Attic 🏠', labels: ['a', 'b:c', 'z_1.2'] }), device('d2')]);
    t.equal(await store.saveAttributes('d1', { name: 'Lamp', room: null, labels: [] }), true);
    t.strictSame(await (await b.open()).loadAll(), [device('d1', { name: 'Lamp', room: null, labels: [] }), device('d2')], 'room cleared, labels emptied');
  });
}
