/**
 * The active silences, held in memory (at most ALERT_LIMITS.maxSilences):
 * an alert matches a silence when every matcher the silence sets matches
 * (rule, device, label, room). Matching alerts still change state; they
 * carry `silencedUntil` so notifiers hold back.
 */
import type { SilenceView } from '@iot-hub/protocol';
import type { DeviceScope } from './device-scope.js';

export class Silences {
  private readonly byId = new Map<string, SilenceView>();

  get size(): number {
    return this.byId.size;
  }

  load(silences: readonly SilenceView[]): void {
    this.byId.clear();
    for (const s of silences) this.byId.set(s.id, s);
  }

  add(silence: SilenceView): void {
    this.byId.set(silence.id, silence);
  }

  remove(id: string): SilenceView | undefined {
    const s = this.byId.get(id);
    this.byId.delete(id);
    return s;
  }

  get(id: string): SilenceView | undefined {
    return this.byId.get(id);
  }

  list(): SilenceView[] {
    return [...this.byId.values()];
  }

  /** The latest end of the silences active now that match, or null. */
  until(ruleId: string, deviceId: string, scope: DeviceScope | undefined, now: number): number | null {
    let until: number | null = null;
    for (const s of this.byId.values()) {
      if (s.until <= now || !Silences.matches(s, ruleId, deviceId, scope)) continue;
      if (until === null || s.until > until) until = s.until;
    }
    return until;
  }

  /** Whether the silence could mute this alert (its matchers fit), whether active or not. */
  static matches(s: SilenceView, ruleId: string, deviceId: string, scope: DeviceScope | undefined): boolean {
    return (
      (s.ruleId === undefined || s.ruleId === ruleId) &&
      (s.deviceId === undefined || s.deviceId === deviceId) &&
      (s.label === undefined || (scope?.labels.includes(s.label) ?? false)) &&
      (s.room === undefined || scope?.room === s.room)
    );
  }
}
