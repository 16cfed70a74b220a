/**
 * The ingest benchmark's result (JSON), its printed tables (every trial,
 * each system's highest lossless rate) and its scoreboard rows: the hub's
 * stored msgs/s ≥ 1.5 × Node-RED's behind tuned Mosquitto and ≥ 0.75 ×
 * Mosquitto's own QoS 1 relay rate, both in the same run.
 */
import type { MachineInfo } from './machine.js';
import type { SearchResult, TrialResult } from './ingest-trial.js';
import { columns } from './columns.js';
import { int, mb, ms, pct, table } from './format.js';
import { printedRow, ratioRow, type ScoreRow } from './scoreboard.js';

/** Node-RED behind tuned Mosquitto. */
export interface PeerRun {
  name: string;
  nodeRedVersion: string;
  mosquittoConfig: string;
  search: SearchResult;
  logs: { warn: number; error: number; samples: string[] };
}

/** Tuned Mosquitto alone relaying the same load at QoS 1 to one QoS 1 subscriber. */
export interface MosquittoRelay {
  name: string;
  relayedPerSec: number;
  windowMs: number;
  serverCpuPercent: number | null;
}

export const INGEST_TARGETS = { overNodeRed: 1.5, overMosquittoRelay: 0.75 } as const;

export interface IngestResultInput {
  options: Record<string, unknown> & { rate: number | null };
  hub: {
    store: 'influx' | 'sqlite';
    search: SearchResult;
    peakRssBytes: number;
    logs: { warn: number; error: number; samples: string[] };
    timeline: { at: number; cpuPercent: number | null; rssBytes: number }[];
  };
  peers: PeerRun[];
  mosquittoRelay: MosquittoRelay | null;
}

export function buildIngestResult(input: IngestResultInput) {
  const { hub, peers } = input;
  const hubMissing = hub.search.trials.reduce((n, t) => n + Math.max(0, t.missing), 0);
  const best = hub.search.best;
  return {
    options: input.options,
    hub: { ...hub, maxLosslessPerSec: hub.search.maxLosslessPerSec },
    peers: peers.map((p) => ({ ...p, maxLosslessPerSec: p.search.maxLosslessPerSec })),
    mosquittoRelay: input.mosquittoRelay,
    /** Acknowledged by the hub but not stored, over every hub trial: must be 0. */
    loss: { ackedNotStored: hubMissing },
    /** `storedPerSec`: the hub's highest lossless stored msgs/s (lib/ingest-rate.ts reads it). */
    rates: {
      storedPerSec: hub.search.maxLosslessPerSec,
      sentPerSec: best?.sentPerSec ?? null,
    },
    latencyMs: {
      publishToPuback: best?.publishToPubackMs ?? null,
      publishToDashboard: best?.dashboards?.publishToDashboardMs ?? null,
    },
  };
}

export type IngestResult = ReturnType<typeof buildIngestResult>;

/**
 * With --rate every system ran at one asked rate: the ratios are not of
 * highest lossless rates, so they are printed, not judged.
 */
export function ingestRows(r: IngestResult): ScoreRow[] {
  const hub = r.hub.search.best ? r.hub.maxLosslessPerSec : null;
  const nodeRed = r.peers[0];
  const rows = [
    ratioRow('ingest: stored QoS 1 msgs/s vs Node-RED behind tuned Mosquitto', hub, nodeRed?.search.best ? nodeRed.maxLosslessPerSec : null, 'Node-RED', int, { atLeast: INGEST_TARGETS.overNodeRed }),
    ratioRow('ingest: stored QoS 1 msgs/s vs Mosquitto\'s own QoS 1 relay rate', hub, r.mosquittoRelay?.relayedPerSec ?? null, 'Mosquitto', int, { atLeast: INGEST_TARGETS.overMosquittoRelay }),
  ];
  if (r.options.rate === null) return rows;
  return rows.map((row) => printedRow(row.what, row.figure, row.peer, row.ratio, `not judged: one fixed --rate ${int(r.options.rate as number)}`));
}

const cpu = (n: number | null | undefined): string => (n === null || n === undefined ? '-' : pct(n));

function trialRow(t: TrialResult): string[] {
  const servers = Object.entries(t.cpuPercent)
    .filter(([role]) => role !== 'influxd')
    .map(([role, v]) => `${role} ${cpu(v)}`)
    .join(', ');
  return [
    t.system,
    t.rateAsked === null ? 'flat out' : int(t.rateAsked),
    int(t.sent),
    int(t.acked),
    int(t.stored),
    t.missing > 0 ? `${int(t.missing)} LOST` : '0',
    int(t.storedPerSec),
    t.publishToPubackMs ? `${ms(t.publishToPubackMs.p50)} / ${ms(t.publishToPubackMs.p99)}` : '-',
    servers,
    cpu(t.cpuPercent.influxd),
    cpu(t.loadGeneratorCpuPercent),
    cpu(t.benchCpuPercent),
    t.loadAvg1m.toFixed(1),
    t.pressure ? pct(t.pressure.cpuSome) : '-',
  ];
}

export function formatIngestResult(r: IngestResult, machine: MachineInfo): string {
  const o = r.options as { devices: number; dashboards: number; durationMs: number; store: string; rate: number | null };
  const title =
    `ingest: ${int(o.devices)} MQTT devices at QoS 1 (4 in flight each), hub store ${o.store}, ` +
    `${o.dashboards} dashboard sockets on the hub, ${(o.durationMs / 1000).toFixed(0)} s per trial ` +
    `(${machine.cores} cores, Node ${machine.node}, load average ${machine.loadAvgAtStart.join(' ')} at the start)`;
  const trials = [...r.hub.search.trials, ...r.peers.flatMap((p) => p.search.trials)];
  const trialTable = columns(
    ['trial', 'asked msgs/s', 'sent', 'acked', 'stored', 'lost', 'stored msgs/s', 'PUBACK p50 / p99', 'server CPU', 'influxd', 'load gen', 'bench', 'load avg', 'CPU wait'],
    trials.map(trialRow),
  );
  const best = (s: SearchResult): string =>
    s.best ? `${int(s.maxLosslessPerSec)} msgs/s (${s.best.rateAsked === null ? 'flat out' : `asked ${int(s.best.rateAsked)}`})` : `none lossless (lowest tried: ${int(Math.min(...s.trials.map((t) => t.rateAsked ?? Infinity)))} msgs/s)`;
  const hubBest = r.hub.search.best;
  const summary: [string, string][] = [
    [`hub (${r.hub.store})`, best(r.hub.search)],
    ...r.peers.map((p): [string, string] => [`${p.name} (Node-RED ${p.nodeRedVersion})`, best(p.search)]),
    ...(r.mosquittoRelay ? [[`${r.mosquittoRelay.name} alone, QoS 1 relay`, `${int(r.mosquittoRelay.relayedPerSec)} msgs/s to one QoS 1 subscriber (server CPU ${cpu(r.mosquittoRelay.serverCpuPercent)})`] as [string, string]] : []),
  ];
  const details: [string, string][] = [
    ['hub publish→dashboard p50 / p99', hubBest?.dashboards?.publishToDashboardMs ? `${ms(hubBest.dashboards.publishToDashboardMs.p50)} / ${ms(hubBest.dashboards.publishToDashboardMs.p99)}` : '-'],
    ['hub dashboard events (dropped)', hubBest?.dashboards ? `${int(hubBest.dashboards.events)} over ${hubBest.dashboards.sockets} socket(s) (${int(hubBest.dashboards.dropped)})` : 'no dashboard sockets'],
    ['hub peak RSS', mb(r.hub.peakRssBytes)],
    ['hub warn / error log lines', `${r.hub.logs.warn} / ${r.hub.logs.error}`],
    ...r.peers.map((p): [string, string] => [`${p.name}: Node-RED warn / error lines`, `${p.logs.warn} / ${p.logs.error}`]),
  ];
  return [
    title,
    '',
    'Trials (CPU: % of one core over the window and drain; load gen: the device-sim load process; bench: this process, with the dashboard sockets; load avg: 1-minute, at the end; CPU wait: share of the time some task on the machine waited for a core):',
    trialTable,
    '',
    o.rate === null
      ? 'Highest lossless rate (stored msgs/s, incl. any backlog worked off after the window):'
      : `Stored msgs/s at the one asked rate (--rate ${int(o.rate)}; lossless trials only):`,
    table(summary),
    '',
    table(details),
  ].join('\n');
}
