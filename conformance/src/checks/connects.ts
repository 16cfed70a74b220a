/**
 * What a device does on every connect, judged from everything seen during
 * the run: `hello` after every connect before any telemetry [FP-4.1], its
 * state after `hello` [FP-4.3], and a `boot` in `hello` (recommended: it
 * keeps samples buffered before a reboot from being taken for resends
 * [FP-4.2]).
 */
import type { BootId } from '@iot-hub/protocol';
import { is, type Seen } from '../observer.js';
import type { Checklist } from '../report.js';

const clock = (at: number): string => new Date(at).toISOString().slice(11, 23);

/** What follows `from` up to the next presence change (or `stop`), and whether the run ended first. */
function until(seen: readonly Seen[], from: Seen, stop: (s: Seen) => boolean = () => false): { segment: Seen[]; open: boolean } {
  const rest = seen.slice(from.index + 1);
  const end = rest.findIndex((s) => s.kind === 'presence' || stop(s));
  return end < 0 ? { segment: rest, open: true } : { segment: rest.slice(0, end), open: false };
}

function summary(problems: string[]): string {
  return problems.length <= 3 ? problems.join('; ') : `${problems.slice(0, 3).join('; ')}; and ${problems.length - 3} more`;
}

/**
 * `runEnd` and `graceMs`: a connect or hello too close to the end of the
 * run to have been answered is not judged.
 */
export function checkConnects(seen: readonly Seen[], list: Checklist, bootAtStart: BootId | undefined, runEnd: number, graceMs: number): void {
  const connects = seen.filter(is.online);
  if (!list.has('hello-after-connect')) {
    const problems: string[] = [];
    let judged = 0;
    for (const c of connects) {
      const { segment, open } = until(seen, c);
      const first = segment.find((s) => s.kind === 'in' && (s.type === 'hello' || s.type === 'telemetry'));
      if (first?.type === 'hello') judged += 1;
      else if (first) problems.push(`telemetry before hello after the connect at ${clock(c.at)}`);
      else if (!open || runEnd - c.at >= graceMs) problems.push(`no hello after the connect at ${clock(c.at)}`);
    }
    if (problems.length > 0) list.set('hello-after-connect', 'fail', summary(problems));
    else if (judged === 0) list.set('hello-after-connect', 'skip', 'the device did not reconnect during the run');
    else list.set('hello-after-connect', 'pass', `hello first after ${judged} connect(s)`);
  }

  const hellos = seen.filter(is.in('hello'));
  const problems: string[] = [];
  let reported = 0;
  for (const h of hellos) {
    const { segment, open } = until(seen, h, is.in('hello'));
    if (segment.some(is.in('state'))) reported += 1;
    else if (!open || runEnd - h.at >= graceMs) problems.push(`no state after the hello at ${clock(h.at)}`);
  }
  if (problems.length > 0) list.set('state-after-hello', 'fail', `${summary(problems)}: report the full state after every hello`);
  else if (reported === 0) list.set('state-after-hello', 'skip', 'no hello during the run');
  else list.set('state-after-hello', 'pass', `state after ${reported} hello(s)`);

  const boots = hellos.filter((h) => h.body).map((h) => h.body?.boot as BootId | undefined);
  if (boots.length === 0) boots.push(bootAtStart);
  const missing = boots.filter((b) => b === undefined).length;
  if (missing > 0) {
    list.set('hello-boot', 'warn', `${missing} of ${boots.length} hello(s) without "boot": name each boot (a counter kept in flash, raised at every start) so that samples buffered before a reboot are stored, not taken for resends [FP-4.2]`);
  } else list.set('hello-boot', 'pass', `boot ${[...new Set(boots.map((b) => JSON.stringify(b)))].join(', ')}`);
}
