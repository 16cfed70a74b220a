/**
 * What every device state service (DeviceStates) does, whatever holds the
 * shadows (SQLite on one node, PostgreSQL in a cluster): views, desired
 * patches with versions and ifVersion, reports, drift, what reaches the
 * device's link, the `state` events, the `state.desired` audit entries,
 * persistence and deletion. Each implementation's test file runs it.
 */
import type { Test } from 'tap';
import { MAX_STATE_KEYS, ProtocolError, type AuditEntry, type DeviceStateView, type HubMessage, type StateKeySpec } from '@iot-hub/protocol';
import type { Audit } from '../../src/audit/audit-log.js';
import type { DeviceLink } from '../../src/core/device-link.js';
import { EventBus } from '../../src/events/event-bus.js';
import type { DeviceRecord } from '../../src/registry/registry-store.js';
import type { DeviceLookup, DeviceStates } from '../../src/state/device-states.js';

/** A device's connection that keeps what the hub sent it. */
export class RecordingLink implements DeviceLink {
  readonly transport = 'mqtt' as const;
  readonly sent: HubMessage[] = [];
  send(message: HubMessage): void {
    this.sent.push(message);
  }
  close(): void {}
}

/** The registry as the state service sees it: records by id. */
export class Devices implements DeviceLookup {
  private readonly records = new Map<string, DeviceRecord>();
  add(id: string, state?: Record<string, StateKeySpec>): this {
    const capabilities = state ? { kind: 'plug', metrics: {}, commands: {}, state, heartbeatSec: 30 } : null;
    this.records.set(id, { id, kind: 'plug', name: id, room: null, labels: [], tokenHash: '', tokenIssuedAt: 0, tokenRevokedAt: null, createdAt: 0, capabilities, lastSeen: null, lastTransport: null });
    return this;
  }
  get(id: string): { record: DeviceRecord } | undefined {
    const record = this.records.get(id);
    return record && { record };
  }
}

export interface StateNodeParts {
  registry: DeviceLookup;
  events: EventBus;
  linkOf: (deviceId: string) => DeviceLink | undefined;
}

/** Where one test's shadows live; each open() is a new service on them (a restart, or another node), opened and closed at teardown. */
export interface StateBacking {
  open(parts: StateNodeParts): Promise<DeviceStates>;
  /** The audit log the services record into. */
  audit: Audit;
}

/** A fresh, empty backing for one test; null when the engine is missing (skipped). */
export type StateBackingFactory = (t: Test) => Promise<StateBacking | null>;

/** One node: its service, event log and the devices' links on it. */
export interface StateNode {
  state: DeviceStates;
  bus: EventBus;
  events: DeviceStateView[];
  links: Map<string, RecordingLink>;
}

export async function openNode(backing: StateBacking, registry: DeviceLookup): Promise<StateNode> {
  const bus = new EventBus();
  const events: DeviceStateView[] = [];
  bus.on(events, 'state', (e) => events.push(e.state));
  const links = new Map<string, RecordingLink>();
  const state = await backing.open({ registry, events: bus, linkOf: (id) => links.get(id) });
  return { state, bus, events, links };
}

const EMPTY = { version: 0, reportedVersion: null, reported: {}, desired: {}, delta: {}, refused: {} };

async function until(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 200; i += 1) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

async function desiredEntries(audit: Audit): Promise<Pick<AuditEntry, 'actor' | 'deviceId' | 'details' | 'outcome'>[]> {
  const { entries } = await audit.list({ limit: 100, action: 'state.desired' });
  return entries.reverse().map(({ actor, deviceId, details, outcome }) => ({ actor, deviceId, details, outcome }));
}

export function stateServiceContract(tap: Test, backingFor: StateBackingFactory): void {
  const setup = async (t: Test) => {
    const backing = await backingFor(t);
    if (!backing) return null;
    const devices = new Devices().add('plug-1').add('lamp-1', { on: { type: 'boolean', settable: true } });
    return { backing, devices, node: await openNode(backing, devices) };
  };

  tap.test('a device without state has an empty view; an unknown device cannot be patched', async (t) => {
    const s = await setup(t);
    if (!s) return;
    t.same(await s.node.state.view('plug-1'), { deviceId: 'plug-1', ...EMPTY });
    await t.rejects(s.node.state.patchDesired('ghost', { state: { a: 1 } }), new ProtocolError('not_found', 'no device "ghost"'));
  });

  tap.test('a patch sets and removes keys, versions each change, tells the device and the bus, and is audited', async (t) => {
    const s = await setup(t);
    if (!s) return;
    const { state, events, links } = s.node;
    const link = new RecordingLink();
    links.set('plug-1', link);
    const v1 = await state.patchDesired('plug-1', { state: { power: true, level: 3 } }, { actor: 'alice', now: 10 });
    t.same(v1, { deviceId: 'plug-1', version: 1, reportedVersion: null, reported: {}, desired: { power: { value: true, ts: 10 }, level: { value: 3, ts: 10 } }, delta: { power: true, level: 3 }, refused: {} });
    const same = await state.patchDesired('plug-1', { state: { power: true } }, { actor: 'bob', now: 20 });
    t.equal(same.version, 1, 'an unchanged patch keeps the version');
    const v2 = await state.patchDesired('plug-1', { state: { level: null }, ifVersion: 1 }, { actor: 'alice', now: 30 });
    t.same(v2.desired, { power: { value: true, ts: 10 } });
    t.equal(v2.version, 2);
    t.same(link.sent, [
      { v: 1, type: 'desired', state: { power: true, level: 3 }, version: 1, delta: { power: true, level: 3 } },
      { v: 1, type: 'desired', state: { power: true }, version: 2, delta: { power: true } },
    ], 'each change reaches the device once; the unchanged patch sends nothing');
    t.same(events.map((e) => e.version), [1, 2], 'a state event per change');
    t.same(await state.view('plug-1'), v2);
    t.same(await desiredEntries(s.backing.audit), [
      { actor: 'alice', deviceId: 'plug-1', details: { state: { power: true, level: 3 }, version: 1 }, outcome: 'ok' },
      { actor: 'bob', deviceId: 'plug-1', details: { state: { power: true }, version: 1 }, outcome: 'ok' },
      { actor: 'alice', deviceId: 'plug-1', details: { state: { level: null }, ifVersion: 1, version: 2 }, outcome: 'ok' },
    ]);
  });

  tap.test('refused patches change nothing: a stale ifVersion, an undeclared key', async (t) => {
    const s = await setup(t);
    if (!s) return;
    const { state, events } = s.node;
    await state.patchDesired('lamp-1', { state: { on: true } });
    await t.rejects(state.patchDesired('lamp-1', { state: { on: false }, ifVersion: 0 }, { actor: 'alice' }), new ProtocolError('version_conflict', 'ifVersion is 0, the current version is 1'));
    await t.rejects(state.patchDesired('lamp-1', { state: { color: 'red' } }), new ProtocolError('invalid_desired', 'state key "color" is not declared; settable keys: on'));
    t.same((await state.view('lamp-1')).desired, { on: { value: true, ts: (await state.view('lamp-1')).desired.on!.ts } });
    t.equal((await state.view('lamp-1')).version, 1);
    t.equal(events.length, 1);
    t.same(await desiredEntries(s.backing.audit), [], 'a patch without an actor, and refused ones, record nothing here (the API records refusals)');
  });

  tap.test('reports merge into reported; a drift from desired sends desired again; deviceReady sends the whole document', async (t) => {
    const s = await setup(t);
    if (!s) return;
    const { state, events, links } = s.node;
    const link = new RecordingLink();
    await state.reported('plug-1', { v: 1, type: 'state', state: { power: false, temp: 21 } }, 5);
    t.same(await state.view('plug-1'), { deviceId: 'plug-1', ...EMPTY, reported: { power: { value: false, ts: 5 }, temp: { value: 21, ts: 5 } } }, 'a report creates the shadow');
    await state.patchDesired('plug-1', { state: { power: true } }, { now: 6 });
    await state.reported('plug-1', { v: 1, type: 'state', state: { power: true }, version: 1 }, 7);
    t.same((await state.view('plug-1')).delta, {}, 'reached');
    links.set('plug-1', link);
    await state.reported('plug-1', { v: 1, type: 'state', state: { power: false, temp: null }, version: 1 }, 8);
    const view = await state.view('plug-1');
    t.same(view.reported, { power: { value: false, ts: 8 } }, 'null removes a reported key');
    t.equal(view.reportedVersion, 1);
    t.same(link.sent, [{ v: 1, type: 'desired', state: { power: true }, version: 1, delta: { power: true } }], 'the drift got desired back');
    await state.deviceReady('plug-1', link);
    t.same(link.sent.at(-1), { v: 1, type: 'desired', state: { power: true }, version: 1, delta: { power: true } });
    const fresh = new RecordingLink();
    await state.deviceReady('lamp-1', fresh);
    t.same(fresh.sent, [{ v: 1, type: 'desired', state: {}, version: 0, delta: {} }], 'even with nothing desired');
    t.same(events.map((e) => [e.version, Object.keys(e.reported).length]), [[0, 2], [1, 2], [1, 2], [1, 1]], 'a state event per stored change');
    await t.rejects(
      state.reported('plug-1', { v: 1, type: 'state', state: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, i])) }, 9),
      new ProtocolError('invalid_message', `the reported state would have 201 keys; at most ${MAX_STATE_KEYS} (remove keys with null)`),
      'the reported document stays bounded',
    );
    t.same((await state.view('plug-1')).reported, { power: { value: false, ts: 8 } });
  });

  tap.test('shadows outlive the service; a deleted device loses its state', async (t) => {
    const s = await setup(t);
    if (!s) return;
    await s.node.state.patchDesired('plug-1', { state: { power: true } }, { now: 1 });
    await s.node.state.reported('plug-1', { v: 1, type: 'state', state: { power: false }, version: 1 }, 2);
    await s.node.state.patchDesired('lamp-1', { state: { on: true } }, { now: 3 });
    await s.node.state.close();
    const again = await openNode(s.backing, s.devices);
    t.same(await again.state.view('plug-1'), {
      deviceId: 'plug-1',
      version: 1,
      reportedVersion: 1,
      reported: { power: { value: false, ts: 2 } },
      desired: { power: { value: true, ts: 1 } },
      delta: { power: true },
      refused: {},
    });
    again.bus.emit('deviceRemoved', { deviceId: 'plug-1' });
    t.ok(await until(async () => (await again.state.view('plug-1')).version === 0), 'the deleted device has no state left');
    await again.state.close();
    const third = await openNode(s.backing, s.devices);
    t.same(await third.state.view('plug-1'), { deviceId: 'plug-1', ...EMPTY }, 'nor after a restart');
    t.equal((await third.state.view('lamp-1')).version, 1, 'other devices keep theirs');
  });
}
