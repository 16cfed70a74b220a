/**
 * What the commands benchmark measured, as a result (the JSON written to
 * bench/results/) and as the table printed at the end: per phase, how each
 * command ended, its latencies (POST → 202, → device, → dashboard), the
 * targets, and the CPU, event-loop and machine figures beside them.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { LoadReport } from '@iot-hub/device-sim';
import { outcomeOf, summary, type Flight, type Outcome, type PhaseRun, type Summary } from './command-driver.js';
import { int, mb, pct } from './format.js';
import type { EventLoopDelay, IngestPushBack } from './hub-metrics.js';
import type { HubLogCounts } from './hub-process.js';
import type { MachineInfo } from './machine.js';
import { ratioRow, type ScoreRow } from './scoreboard.js';
import type { PressureShare } from './pressure.js';
import type { ResponderStats } from './responders.js';

/**
 * Issue 23: the round trip's p99 (POST → dashboard shows the final state),
 * idle and under load, at most this many times the bare command relay's in
 * the same run and phase.
 */
export const OVER_BARE_RELAY = 2;

export type PhaseName = 'idle' | 'load';

export interface CommandsOptions {
  devices: number;
  wsDevices: number;
  rate: number;
  durationMs: number;
  warmupMs: number;
  phases: PhaseName[];
  loadDevices: number;
  loadRate: number | undefined;
  commandTimeoutMs: number;
  hubArgs: string[];
  keepData: boolean;
  /** Run the hub under --cpu-prof and print the summary. */
  hubProfile: boolean;
  /** Run the same phases through the bare command relay after the hub. */
  peer: boolean;
}

export interface ProgressSecond {
  elapsedSec: number;
  warmingUp: boolean;
  roundTripP50: number | null;
  roundTripP99: number | null;
  inFlight: number;
  hubCpuPercent: number | null;
  telemetryAckedPerSec: number | null;
  machinePressure: PressureShare | null;
}

export interface LoadPhaseInfo {
  targetRate: number;
  /** device-sim's report (its whole window: warm-up, measured window and the commands' drain). */
  report: Omit<LoadReport, 'perDevice'> | null;
  exit: { code: number | null; signal: string | null };
  /** The load generator process over the measured window, % of one core. */
  cpuPercent: number | null;
  /** Acked msgs/s over the measured window, from its progress lines. */
  ackedPerSecMeasured: number | null;
}

/** performance.now() of this process as epoch ms, to compare with the hub's timestamps. */
const epoch = (at: number | undefined): number | undefined => (at === undefined ? undefined : performance.timeOrigin + at);

export function summarisePhase(
  name: PhaseName,
  options: CommandsOptions,
  run: PhaseRun,
  extra: {
    hubCpuPercent: number | null;
    benchCpuPercent: number | null;
    benchEventLoopDelay: { p50Ms: number; p99Ms: number; maxMs: number } | null;
    machinePressure: PressureShare | null;
    hubEventLoopDelay: EventLoopDelay | null;
    hubPushBack: (IngestPushBack & { pausedPercent: number }) | null;
    load: LoadPhaseInfo | undefined;
    seconds: ProgressSecond[];
  },
) {
  const { flights } = run;
  const counts: Record<Outcome, number> & { sent: number } = { sent: flights.length, succeeded: 0, failed: 0, 'http-error': 0, lost: 0 };
  const errors: Record<string, number> = {};
  for (const f of flights) {
    counts[outcomeOf(f)]++;
    if (f.error) errors[f.error] = (errors[f.error] ?? 0) + 1;
  }
  const ok = flights.filter((f) => outcomeOf(f) === 'succeeded');
  const between = (list: readonly Flight[], from: (f: Flight) => number | undefined, to: (f: Flight) => number | undefined): Summary | null => {
    const values: number[] = [];
    for (const f of list) {
      const a = from(f);
      const b = to(f);
      if (a !== undefined && b !== undefined) values.push(b - a);
    }
    return summary(values);
  };
  const sent = (f: Flight) => f.sentAt;
  const roundTrip = (list: readonly Flight[]) => between(list, sent, (f) => f.doneAt);
  const measureFrom = run.measureFrom;
  const secondOf = (f: Flight): number => Math.floor((f.sentAt - measureFrom) / 1000);
  const seconds = flights.reduce((n, f) => Math.max(n, secondOf(f) + 1), 0);
  const timeline = Array.from({ length: seconds }, (_, i) => {
    const inSecond = flights.filter((f) => secondOf(f) === i);
    const rt = roundTrip(inSecond.filter((f) => outcomeOf(f) === 'succeeded'));
    return { second: i, sent: inSecond.length, p50: rt?.p50 ?? null, p99: rt?.p99 ?? null, max: rt?.max ?? null };
  });
  const rt = roundTrip(ok);
  return {
    name,
    rate: options.rate,
    windowMs: run.windowMs,
    drainMs: run.drainMs,
    counts,
    errors,
    latencyMs: {
      /** POST sent → 2xx response read. */
      postToAccepted: between(flights, sent, (f) => f.acceptedAt),
      /** POST sent → the device has the command message. */
      postToDevice: between(flights, sent, (f) => f.deliveredAt),
      /** POST sent → the dashboard shows `succeeded`: the round trip. */
      roundTrip: rt,
      /** The device has the command → the dashboard shows `succeeded` (result path: device result → hub → dashboard). */
      deviceToDashboard: between(ok, (f) => f.deliveredAt, (f) => f.doneAt),
    },
    /**
     * The round trip cut at the hub's own timestamps (createdAt, updatedAt
     * of the final state: epoch ms, so each leg is ±1 ms): where the time
     * was spent. Null for a server that gives no such times.
     */
    legsMs: {
      postToHub: between(ok, (f) => epoch(f.sentAt), (f) => f.hubCreatedAt),
      hubToDevice: between(ok, (f) => f.hubCreatedAt, (f) => epoch(f.deliveredAt)),
      deviceToHub: between(ok, (f) => epoch(f.deliveredAt), (f) => f.hubEndedAt),
      hubToDashboard: between(ok, (f) => f.hubEndedAt, (f) => epoch(f.doneAt)),
    },
    roundTripByTransport: {
      mqtt: roundTrip(ok.filter((f) => f.transport === 'mqtt')),
      ws: roundTrip(ok.filter((f) => f.transport === 'ws')),
    },
    schedule: { slips: run.scheduleSlips, allDevicesBusy: run.allDevicesBusy },
    hubCpuPercent: extra.hubCpuPercent,
    /** The hub's event-loop delay over the measured window (its /metrics), beyond the 10 ms sampling interval. */
    hubEventLoopDelay: extra.hubEventLoopDelay,
    /** Times the hub stopped reading device sockets from the measured window's start to the phase's end, by why, and the share of that time some socket waited (its ingest gate). */
    hubPushBack: extra.hubPushBack,
    benchCpuPercent: extra.benchCpuPercent,
    /** This process's event-loop delay over the measured window (1 ms resolution, so 1 ms is the floor): part of every time it took. */
    benchEventLoopDelay: extra.benchEventLoopDelay,
    /** Share of the measured window in which some task on the machine waited for a CPU / for I/O (Linux PSI). */
    machinePressure: extra.machinePressure,
    /** 1-minute load average at the end of the phase: other work on the machine shows here. */
    loadAvgAtEnd: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    load: extra.load ?? null,
    /** Per second of the measured window, by the second each command was sent. */
    timeline,
    /** Per second of the whole phase as the progress line showed it (by the second commands finished). */
    progress: extra.seconds,
  };
}

export type PhaseResult = ReturnType<typeof summarisePhase>;

/** Everything measured against one server (the hub or the bare peer). */
export interface ServerRun {
  label: string;
  phases: PhaseResult[];
  responders: { mqtt: number; ws: number; stats: ResponderStats };
  provisionMs: number;
  connectMs: number;
  /** Command messages or dashboard events that matched no command in flight. */
  unmatched: { device: number; dashboard: number };
  dashboard: { commandEvents: number; overflows: number; dropped: number };
  peakRssBytes: number;
  /** Once a second: the server's CPU and RSS. */
  timeline: { at: number; cpuPercent: number | null; rssBytes: number }[];
  /** The hub's warn and error log lines; the peer logs nothing. */
  logs?: HubLogCounts;
}

export interface BuildInput {
  options: CommandsOptions;
  loadRate: { rate: number; source: string } | undefined;
  hub: ServerRun;
  peer: ServerRun | null;
}

export function buildResult(input: BuildInput) {
  const { hub } = input;
  return {
    options: { ...input.options, store: 'sqlite (default)' },
    loadRate: input.loadRate ?? null,
    setup: { responders: { mqtt: hub.responders.mqtt, ws: hub.responders.ws }, provisionMs: hub.provisionMs, connectMs: hub.connectMs },
    phases: hub.phases,
    responders: hub.responders.stats,
    unmatched: hub.unmatched,
    dashboard: hub.dashboard,
    hub: { peakRssBytes: hub.peakRssBytes, logs: hub.logs ?? { warn: 0, error: 0, samples: [] }, timeline: hub.timeline },
    /** The same phases through the bare command relay (no storage, no checks; every responder on MQTT), measured after the hub. */
    peer: input.peer,
  };
}

export type CommandsResult = ReturnType<typeof buildResult>;

const ms1 = (n: number): string => n.toFixed(1);
const legDist = (s: Summary | null): string => (s ? `${ms1(s.p50)} / ${ms1(s.p99)} ms` : '-');
const dist = (s: Summary | null): string => (s ? `${ms1(s.p50)} / ${ms1(s.p95)} / ${ms1(s.p99)} / ${ms1(s.max)} ms` : '-');

/** One row per phase: hub round trip p99 ÷ the bare relay's in the same phase. */
export function commandRows(r: CommandsResult): ScoreRow[] {
  return r.phases.map((p, i) => {
    const peer = r.peer?.phases[i];
    const what = `commands: round trip p99, ${p.name === 'idle' ? 'idle' : `under ${int(p.load?.targetRate ?? 0)} msgs/s telemetry`}`;
    const row = ratioRow(what, p.latencyMs.roundTrip?.p99 ?? null, peer?.latencyMs.roundTrip?.p99 ?? null, 'bare relay', (n) => `${n.toFixed(1)} ms`, { atMost: OVER_BARE_RELAY });
    // A round trip that did not end in success is no figure to judge, however fast the others were.
    return p.counts.succeeded === p.counts.sent ? row : { ...row, verdict: 'missed', target: `${row.target}, and every command succeeded` };
  });
}

export function formatResult(r: CommandsResult, machine: MachineInfo): string {
  const o = r.options;
  const title =
    `commands: ${int(r.setup.responders.mqtt + r.setup.responders.ws)} devices answering (${int(r.setup.responders.mqtt)} MQTT, ${int(r.setup.responders.ws)} WebSocket), ` +
    `${int(o.rate)} commands/s round robin, ${(o.durationMs / 1000).toFixed(0)} s measured per phase after ${(o.warmupMs / 1000).toFixed(0)} s warm-up ` +
    `(${machine.cores} cores, Node ${machine.node}, load average ${machine.loadAvgAtStart[0]})`;
  const header = ['', ...r.phases.map((p) => (p.name === 'idle' ? 'idle' : 'under load'))];
  const row = (label: string, cell: (p: PhaseResult) => string): string[] => [label, ...r.phases.map(cell)];
  const rows: string[][] = [
    header,
    row('telemetry (other devices)', (p) =>
      p.load
        ? `${int(p.load.targetRate)} msgs/s asked, ${p.load.ackedPerSecMeasured === null ? '-' : int(p.load.ackedPerSecMeasured)} acked/s`
        : 'none',
    ),
    row('telemetry PUBACK p50 / p99', (p) => (p.load?.report?.ackLatencyMs ? `${ms1(p.load.report.ackLatencyMs.p50)} / ${ms1(p.load.report.ackLatencyMs.p99)} ms` : '-')),
    row('commands measured', (p) => int(p.counts.sent)),
    row('succeeded / failed / HTTP error / lost', (p) => `${int(p.counts.succeeded)} / ${int(p.counts.failed)} / ${int(p.counts['http-error'])} / ${int(p.counts.lost)}`),
    row('POST→202       p50 / p95 / p99 / max', (p) => dist(p.latencyMs.postToAccepted)),
    row('POST→device    p50 / p95 / p99 / max', (p) => dist(p.latencyMs.postToDevice)),
    row('round trip     p50 / p95 / p99 / max', (p) => dist(p.latencyMs.roundTrip)),
    row('  (POST→dashboard shows succeeded)', () => ''),
    row('  by the hub\'s clock, p50 / p99: POST → hub', (p) => legDist(p.legsMs.postToHub)),
    row('    hub → device', (p) => legDist(p.legsMs.hubToDevice)),
    row('    device → hub has the result', (p) => legDist(p.legsMs.deviceToHub)),
    row('    hub → dashboard', (p) => legDist(p.legsMs.hubToDashboard)),
    row('round trip, WebSocket devices p50 / max', (p) => {
      const ws = p.roundTripByTransport.ws;
      return ws ? `${ms1(ws.p50)} / ${ms1(ws.max)} ms (${int(ws.count)})` : '-';
    }),
    row('hub CPU (100 % = one core)', (p) => (p.hubCpuPercent === null ? '-' : pct(p.hubCpuPercent))),
    row('hub event-loop delay p50 / p99 / max', (p) => {
      const d = p.hubEventLoopDelay;
      return d ? `${ms1(d.p50Ms)} / ${ms1(d.p99Ms)} / ${ms1(d.maxMs)} ms` : '-';
    }),
    row('hub stopped reading devices (lag / in flight)', (p) => {
      const b = p.hubPushBack;
      return b ? `${int(b.pausesLag)} / ${int(b.pausesInFlight)} times, ${pct(b.pausedPercent)} of the time` : '-';
    }),
    row('bench process CPU', (p) => (p.benchCpuPercent === null ? '-' : pct(p.benchCpuPercent))),
    row('bench process event-loop delay p50 / p99 / max', (p) => {
      const d = p.benchEventLoopDelay;
      return d ? `${ms1(d.p50Ms)} / ${ms1(d.p99Ms)} / ${ms1(d.maxMs)} ms` : '-';
    }),
    row('load generator CPU', (p) => (p.load?.cpuPercent === null || p.load?.cpuPercent === undefined ? '-' : pct(p.load.cpuPercent))),
    row('machine load average (1 min) at the end', (p) => p.loadAvgAtEnd.toFixed(2)),
    row('machine waiting for CPU / for I/O', (p) => (p.machinePressure ? `${pct(p.machinePressure.cpuSome)} / ${pct(p.machinePressure.ioSome)} of the time` : '-')),
    ...(r.peer ? peerRows(r.phases, r.peer.phases) : []),
  ];
  // A one-cell row is a section heading: printed whole, not counted in the column widths.
  const tabled = rows.filter((cells) => cells.length > 1);
  const widths = (rows[0] as string[]).map((_, c) => Math.max(...tabled.map((cells) => (cells[c] ?? '').length)));
  const lines = rows.map((cells) => `  ${cells.map((cell, c) => (cells.length > 1 ? cell.padEnd(widths[c] as number) : cell)).join('   ')}`.trimEnd());
  const footer = [
    `hub peak RSS ${mb(r.hub.peakRssBytes)}; hub warn / error log lines ${r.hub.logs.warn} / ${r.hub.logs.error}; ` +
      `dashboard overflows ${r.dashboard.overflows}; responder disconnects ${r.responders.disconnects}`,
  ];
  if (r.loadRate) footer.push(`load rate: ${r.loadRate.source}`);
  const runs = [{ label: '', phases: r.phases }, ...(r.peer ? [{ label: `${r.peer.label}: `, phases: r.peer.phases }] : [])];
  for (const { label, p } of runs.flatMap((run) => run.phases.map((p) => ({ label: run.label, p })))) {
    const reached = p.load?.ackedPerSecMeasured;
    if (p.load && reached !== null && reached !== undefined && reached < 0.9 * p.load.targetRate) {
      footer.push(
        `WARNING: ${label}telemetry reached only ${pct((reached / p.load.targetRate) * 100)} of the rate asked: the "under load" figures are at that lower load ` +
          '(the hub or this machine could not carry it; see hub CPU and the load average)',
      );
    }
    const report = p.load?.report;
    if (report && report.connectFailed > 0) {
      footer.push(
        `WARNING: ${label}${int(report.connectFailed)} of ${int(report.devices)} telemetry devices could not connect ` +
          `(${Object.keys(report.errors)[0] ?? 'no reason given'}): the load came from fewer devices`,
      );
    }
    if (p.load && !report) footer.push(`WARNING: ${label}the load generator gave no report (exit code ${p.load.exit.code}, signal ${p.load.exit.signal})`);
    if (p.schedule.slips > 0) footer.push(`${label}${p.name}: the command schedule slipped ${p.schedule.slips} times (this process was held up over 50 ms)`);
  }
  return `${title}\n${lines.join('\n')}\n  ${footer.join('\n  ')}`;
}

/**
 * The bare command relay's figures under the hub's, phase by phase (the
 * peer ran the same phases, in the same order), and the hub's round trip
 * as a multiple of the peer's.
 */
function peerRows(hub: readonly PhaseResult[], peer: readonly PhaseResult[]): string[][] {
  const row = (label: string, cell: (p: PhaseResult, i: number) => string): string[] => [label, ...hub.map((_, i) => (peer[i] ? cell(peer[i], i) : '-'))];
  const times = (a: number | undefined, b: number | undefined): string => (a !== undefined && b !== undefined && b > 0 ? `${(a / b).toFixed(1)}×` : '-');
  return [
    ['bare command relay, same phases (no storage, no checks, every responder on MQTT):'],
    row('  telemetry acked/s', (p) => (p.load ? (p.load.ackedPerSecMeasured === null ? '-' : int(p.load.ackedPerSecMeasured)) : 'none')),
    row('  succeeded / failed / HTTP error / lost', (p) => `${int(p.counts.succeeded)} / ${int(p.counts.failed)} / ${int(p.counts['http-error'])} / ${int(p.counts.lost)}`),
    row('  round trip     p50 / p95 / p99 / max', (p) => dist(p.latencyMs.roundTrip)),
    row('  server CPU', (p) => (p.hubCpuPercent === null ? '-' : pct(p.hubCpuPercent))),
    row('  load generator CPU', (p) => (p.load?.cpuPercent === null || p.load?.cpuPercent === undefined ? '-' : pct(p.load.cpuPercent))),
    row('  machine waiting for CPU', (p) => (p.machinePressure ? `${pct(p.machinePressure.cpuSome)} of the time` : '-')),
    row('hub ÷ bare, round trip p50 / p99', (p, i) => {
      const h = hub[i]?.latencyMs.roundTrip;
      const b = p.latencyMs.roundTrip;
      return `${times(h?.p50, b?.p50)} / ${times(h?.p99, b?.p99)}`;
    }),
  ];
}
