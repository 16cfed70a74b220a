/**
 * Telemetry numbering and shape [FP-4.2], judged from every telemetry
 * message the hub took during the run. Per boot (the message's `boot`, else
 * that of the latest hello): a boot that starts during the run starts at
 * seq 0; each new seq is one more than the last; a seq seen before is a
 * resend only if it carries the same sample (same `ts` and metrics), else
 * the counter restarted without a new boot. A jump forward is explained by
 * the hub refusing messages in between (their errors are seen), or is a
 * loss across a reconnect (warned: unacknowledged samples lost). A batch
 * carries `ts`, `age` and `seq` on its samples only.
 */
import type { BootId } from '@iot-hub/protocol';
import { is, type Seen } from '../observer.js';
import type { Checklist } from '../report.js';

/** Samples remembered per boot to tell a resend from a reused seq; a run sees far fewer. */
const MAX_REMEMBERED = 100_000;

/** A jump forward of seq, judged at the end by how many of the seqs it skipped never came. */
interface Jump {
  from: number;
  to: number;
  /** `refused`: the hub sent errors in between (those messages' samples are missing, reported where they belong). */
  why: 'refused' | 'reconnect' | 'jump';
  missing: number;
}

interface Track {
  label: string;
  first: number;
  max: number;
  /** Fingerprint (ts and metrics) of each seq seen. */
  prints: Map<number, string>;
  /** Seqs skipped and not seen yet, with the jump that skipped them: a late one fills its gap. */
  gaps: Map<number, Jump>;
  /** Index of the message that carried the last sample. */
  lastIndex: number;
}

/** Samples sent before the runner knows the device's boot. */
const UNKNOWN = '?';
const bootKey = (boot: unknown): string => (boot === undefined ? '' : `${typeof boot}:${String(boot)}`);
const bootLabel = (boot: unknown): string => (boot === undefined ? '(unnamed)' : JSON.stringify(boot));

function fingerprint(sample: Record<string, unknown>): string {
  const metrics = (sample.metrics ?? {}) as Record<string, unknown>;
  return JSON.stringify([sample.ts ?? null, Object.keys(metrics).sort().map((k) => [k, metrics[k]])]);
}

function listOf(problems: string[]): string {
  return problems.length <= 3 ? problems.join('; ') : `${problems.slice(0, 3).join('; ')}; and ${problems.length - 3} more`;
}

export function checkSeq(seen: readonly Seen[], list: Checklist, bootAtStart: BootId | undefined): void {
  const failures: string[] = [];
  const warnings: string[] = [];
  const tracks = new Map<string, Track>();
  const jumps: Jump[] = [];
  /** Boots a hello announced during the run: their seq must start at 0. */
  const started = new Set<string>();
  let current: unknown = bootAtStart;
  /**
   * Whether the boot the device is in is known: from the hub (capabilities)
   * or a hello seen. Until then samples go under UNKNOWN, and the first
   * hello names their boot (it announces no new one).
   */
  let known = bootAtStart !== undefined;
  let samples = 0;
  let numbered = 0;

  for (const s of seen) {
    if (is.in('hello')(s) && s.body) {
      const named = bootKey(s.body.boot);
      if (!known) {
        const before = tracks.get(UNKNOWN);
        tracks.delete(UNKNOWN);
        if (before && !tracks.has(named)) tracks.set(named, { ...before, label: bootLabel(s.body.boot) });
      } else if (s.body.boot !== undefined && named !== bootKey(current)) started.add(named);
      current = s.body.boot;
      known = true;
      continue;
    }
    if (!is.in('telemetry')(s) || !s.body) continue;
    const boot = s.body.boot ?? current;
    const key = s.body.boot === undefined && !known ? UNKNOWN : bootKey(boot);
    const batch = Array.isArray(s.body.samples) ? (s.body.samples as Record<string, unknown>[]) : [s.body];
    for (const sample of batch) {
      samples += 1;
      const seq = sample.seq;
      if (typeof seq !== 'number') continue;
      numbered += 1;
      const print = fingerprint(sample);
      const track = tracks.get(key);
      if (!track) {
        if (started.has(key) && seq !== 0) failures.push(`boot ${bootLabel(boot)} began at seq ${seq}, not 0`);
        tracks.set(key, { label: bootLabel(boot), first: seq, max: seq, prints: new Map([[seq, print]]), gaps: new Map(), lastIndex: s.index });
        continue;
      }
      const known = track.prints.get(seq);
      if (known !== undefined) {
        if (known !== print) failures.push(`seq ${seq} of boot ${track.label} numbers two different samples (${known}, then ${print}): the counter restarted without a new boot`);
        continue;
      }
      const between = seen.slice(track.lastIndex + 1, s.index);
      if (seq > track.max + 1) {
        const jump: Jump = { from: track.max, to: seq, why: 'jump', missing: 0 };
        if (between.some((x) => x.kind === 'out' && x.type === 'error')) jump.why = 'refused';
        else if (between.some((x) => x.kind === 'presence')) jump.why = 'reconnect';
        for (let k = track.max + 1; k < seq && track.gaps.size < MAX_REMEMBERED; k++, jump.missing++) track.gaps.set(k, jump);
        jumps.push(jump);
      } else if (seq <= track.max && seq >= track.first) {
        const jump = track.gaps.get(seq);
        if (jump) {
          // A late sample (a resend after a reconnect, a reordered batch) fills its gap: reordering is not loss.
          track.gaps.delete(seq);
          jump.missing -= 1;
        } else {
          const why = between.some((x) => x.kind === 'presence') ? ' after a reconnect' : '';
          failures.push(`seq went back from ${track.max} to ${seq}${why} in boot ${track.label}: seq restarts at 0 only with a new boot`);
        }
      }
      if (track.prints.size < MAX_REMEMBERED) track.prints.set(seq, print);
      track.max = Math.max(track.max, seq);
      track.lastIndex = s.index;
    }
  }

  for (const j of jumps) {
    if (j.missing === 0 || j.why === 'refused') continue;
    if (j.why === 'jump') failures.push(`seq jumped from ${j.from} to ${j.to}, and ${j.missing} seq(s) between never came: one more per sample`);
    else warnings.push(`${j.missing} seq(s) between ${j.from} and ${j.to} never came, across a reconnect: samples lost unacknowledged; send with QoS 1 or mid and resend what was not acknowledged`);
  }
  if (failures.length > 0) list.set('seq', 'fail', listOf(failures));
  else if (samples === 0) list.set('seq', 'skip', 'no telemetry during the run');
  else if (numbered === 0) list.set('seq', 'warn', `${samples} sample(s) without seq: number samples (0 after boot, +1 each) so the hub can drop resends and count losses`);
  else if (warnings.length > 0) list.set('seq', 'warn', listOf(warnings));
  else list.set('seq', 'pass', `${numbered} numbered sample(s) in ${tracks.size} boot(s), in order${numbered < samples ? `; ${samples - numbered} without seq` : ''}`);
}

export function checkBatches(seen: readonly Seen[], list: Checklist): void {
  const batches = seen.filter((s) => is.in('telemetry')(s) && Array.isArray(s.body?.samples));
  const misplaced = batches.map((b) => ['ts', 'age', 'seq'].filter((k) => b.body?.[k] !== undefined)).find((keys) => keys.length > 0);
  const refused = seen.find((s) => s.kind === 'out' && s.type === 'error' && s.body?.error === 'invalid_message' && /batch carries/.test(String(s.body.message)));
  if (refused) list.set('batch-fields', 'fail', `the hub refused a batch: ${String(refused.body?.message)}`);
  else if (misplaced) list.set('batch-fields', 'fail', `a batch with ${misplaced.join(', ')} on the message`);
  else if (batches.length === 0) list.set('batch-fields', 'skip', 'no batch during the run (devices send one with a backlog, for example after the reconnect)');
  else list.set('batch-fields', 'pass', `${batches.length} batch(es), times and seqs on the samples`);
}
