/**
 * Heartbeat [FP-5]: the runner sends nothing for the observation window and
 * measures the longest silence of the device while it is connected,
 * counting from its last message before the window. Every message the hub
 * accepts counts, a `ping` included. A little slack covers the network and
 * timers: heartbeatSec plus a tenth of it, at least one second.
 */
import type { Checklist } from '../report.js';
import type { RunContext } from '../run-context.js';

export function heartbeatSlackMs(heartbeatSec: number): number {
  return Math.max(1000, heartbeatSec * 100);
}

export async function checkHeartbeat(ctx: RunContext, list: Checklist, heartbeatSec: number, observeSec: number): Promise<void> {
  if (observeSec < heartbeatSec) {
    list.set('heartbeat', 'skip', `--observe-sec ${observeSec} is shorter than the device's heartbeatSec ${heartbeatSec}`);
    return;
  }
  ctx.progress(`watching the device for ${observeSec} s, sending it nothing (heartbeatSec ${heartbeatSec})`);
  const from = ctx.observer.mark;
  const start = Date.now();
  await ctx.sleep(observeSec * 1000);
  const end = Date.now();
  const seen = ctx.observer.seen;
  let last = seen.slice(0, from).filter((s) => s.kind === 'in').at(-1)?.at ?? start;
  let online = true;
  let worst = { gap: 0, since: last };
  const measure = (at: number) => {
    if (online && at - last > worst.gap) worst = { gap: at - last, since: last };
  };
  let offlineReason = '';
  for (const s of seen.slice(from)) {
    if (s.kind === 'in') {
      measure(s.at);
      last = s.at;
    } else if (s.kind === 'presence') {
      if (s.presence?.status === 'online') {
        online = true;
        last = s.at;
      } else {
        measure(s.at);
        online = false;
        offlineReason = s.presence?.reason ?? '';
      }
    }
  }
  measure(end);
  const limit = heartbeatSec * 1000 + heartbeatSlackMs(heartbeatSec);
  const secs = (ms: number) => (ms / 1000).toFixed(1);
  if (worst.gap > limit) {
    const cut = offlineReason === 'heartbeat-timeout' ? '; the hub then disconnected it (heartbeat-timeout)' : '';
    list.set('heartbeat', 'fail', `silent for ${secs(worst.gap)} s from ${new Date(worst.since).toISOString().slice(11, 23)} (heartbeatSec ${heartbeatSec}): send something, a ping if nothing else, at least every ${heartbeatSec} s${cut}`);
  } else list.set('heartbeat', 'pass', `longest silence ${secs(worst.gap)} s in ${observeSec} s (heartbeatSec ${heartbeatSec})`);
}
