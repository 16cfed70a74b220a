/**
 * The ingest benchmark's result (JSON) and its printed tables: every trial,
 * each system's highest lossless rate, and the hub against issue 8's
 * targets (≥ 1.5 × Node-RED behind tuned Mosquitto, ≥ 5 × behind stock).
 */
import type { MachineInfo } from './machine.js';
import type { SearchResult, TrialResult } from './ingest-trial.js';
import { int, mb, ms, pct, table } from './format.js';

export interface PeerRun {
  name: string;
  mosquitto: 'stock' | 'tuned';
  nodeRedVersion: string;
  mosquittoConfig: string;
  search: SearchResult;
  logs: { warn: number; error: number; samples: string[] };
}

export interface TargetCheck {
  what: string;
  /** hub ÷ peer; null when the peer was not measured or stored nothing losslessly. */
  ratio: number | null;
  target: number;
  met: boolean | null;
}

/** Ratio targets of issue 8's ingest row. */
export const INGEST_TARGETS = [
  { mosquitto: 'tuned', target: 1.5 },
  { mosquitto: 'stock', target: 5 },
] as const;

/** `searched` false (--rate): every system ran at one asked rate, so the ratios are not of highest lossless rates and no target is judged. */
export function checkTargets(hubPerSec: number, peers: readonly PeerRun[], searched = true): TargetCheck[] {
  return INGEST_TARGETS.map(({ mosquitto, target }) => {
    const peer = peers.find((p) => p.mosquitto === mosquitto);
    const ratio = peer && peer.search.maxLosslessPerSec > 0 ? hubPerSec / peer.search.maxLosslessPerSec : null;
    return { what: `hub ÷ Node-RED behind ${mosquitto} Mosquitto`, ratio, target, met: ratio === null || !searched ? null : ratio >= target };
  });
}

export interface IngestResultInput {
  startedAt: Date;
  command: string;
  machine: MachineInfo;
  options: Record<string, unknown> & { rate: number | null };
  hub: {
    store: 'influx' | 'sqlite';
    search: SearchResult;
    peakRssBytes: number;
    logs: { warn: number; error: number; samples: string[] };
    timeline: { at: number; cpuPercent: number | null; rssBytes: number }[];
  };
  peers: PeerRun[];
}

export function buildIngestResult(input: IngestResultInput) {
  const { hub, peers } = input;
  const hubMissing = hub.search.trials.reduce((n, t) => n + Math.max(0, t.missing), 0);
  const best = hub.search.best;
  return {
    benchmark: 'ingest',
    startedAt: input.startedAt.toISOString(),
    command: input.command,
    machine: input.machine,
    options: input.options,
    hub: { ...hub, maxLosslessPerSec: hub.search.maxLosslessPerSec },
    peers: peers.map((p) => ({ ...p, maxLosslessPerSec: p.search.maxLosslessPerSec })),
    targets: checkTargets(hub.search.maxLosslessPerSec, peers, input.options.rate === null),
    /** Acknowledged by the hub but not stored, over every hub trial: must be 0. */
    loss: { ackedNotStored: hubMissing },
    /** `storedPerSec`: the hub's highest lossless stored msgs/s (bench/src/commands.ts reads it). */
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

/** A table with a header row; the first column left-aligned, the others right-aligned. */
function columns(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string => `  ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
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

export function formatIngestResult(r: IngestResult): string {
  const o = r.options as { devices: number; dashboards: number; durationMs: number; store: string; rate: number | null };
  const title =
    `ingest: ${int(o.devices)} MQTT devices at QoS 1 (4 in flight each), hub store ${o.store}, ` +
    `${o.dashboards} dashboard sockets on the hub, ${(o.durationMs / 1000).toFixed(0)} s per trial ` +
    `(${r.machine.cores} cores, Node ${r.machine.node}, load average ${r.machine.loadAvgAtStart.join(' ')} at the start)`;
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
  ];
  const details: [string, string][] = [
    ['hub publish→dashboard p50 / p99', hubBest?.dashboards?.publishToDashboardMs ? `${ms(hubBest.dashboards.publishToDashboardMs.p50)} / ${ms(hubBest.dashboards.publishToDashboardMs.p99)}` : '-'],
    ['hub dashboard events (dropped)', hubBest?.dashboards ? `${int(hubBest.dashboards.events)} over ${hubBest.dashboards.sockets} socket(s) (${int(hubBest.dashboards.dropped)})` : 'no dashboard sockets'],
    ['hub peak RSS', mb(r.hub.peakRssBytes)],
    ['hub warn / error log lines', `${r.hub.logs.warn} / ${r.hub.logs.error}`],
    ...r.peers.map((p): [string, string] => [`${p.name}: Node-RED warn / error lines`, `${p.logs.warn} / ${p.logs.error}`]),
  ];
  const targets = r.targets.map((t): [string, string] => [
    `${t.what} ≥ ${t.target}`,
    t.ratio === null ? 'not measured' : `${t.ratio.toFixed(2)}  ${t.met === null ? '(not judged: one fixed --rate)' : t.met ? 'met' : 'MISSED'}`,
  ]);
  return [
    title,
    `command: ${r.command}`,
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
    ...(targets.length > 0 && r.peers.length > 0 ? ['', 'Targets (issue 8, ingest):', table(targets)] : []),
  ].join('\n');
}
