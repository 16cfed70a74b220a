/**
 * Mains smart plug with an appliance behind it: power draw while on (with
 * noise and occasional spikes, as a compressor or kettle gives), a running
 * energy counter, and an on/off state switched by commands.
 */
import type { Capabilities, MetricValue, StateValue } from '@iot-hub/protocol';
import { Random, clamp, round } from '../random.js';
import { sortDesired } from './desired-state.js';
import type { CommandOutcome, DeviceModel, ModelDefinition, ModelOptions } from './model.js';

export const SMART_PLUG_KIND = 'smart-plug';

/** Rated maximum of a 16 A plug at 230 V. */
const MAX_POWER_W = 3680;

export class SmartPlug implements DeviceModel {
  readonly kind = SMART_PLUG_KIND;
  readonly #random: Random;
  /** What the appliance behind the plug draws, fixed per seed. */
  readonly #baseWatts: number;
  #on: boolean;
  #energyKwh = 0;
  #lastMs: number | undefined;
  #lastPower = 0;

  constructor(options: ModelOptions) {
    this.#random = new Random(options.seed);
    this.#baseWatts = this.#random.range(5, 150);
    this.#on = this.#random.chance(0.7);
  }

  hello(): Capabilities {
    return {
      kind: this.kind,
      fw: 'sim-1.0.0',
      model: 'SIM-PLUG16',
      metrics: {
        power: { type: 'number', unit: 'W', min: 0, max: MAX_POWER_W, description: 'power drawn by the appliance' },
        energy: { type: 'number', unit: 'kWh', min: 0, description: 'energy since the plug started' },
        voltage: { type: 'number', unit: 'V', min: 0, max: 260 },
        on: { type: 'boolean', description: 'relay closed' },
      },
      commands: {
        turn_on: { description: 'close the relay' },
        turn_off: { description: 'open the relay' },
        toggle: { description: 'flip the relay' },
      },
      state: { on: { type: 'boolean', settable: true, description: 'relay closed' } },
      heartbeatSec: 60,
    };
  }

  sample(nowMs: number): Record<string, MetricValue> {
    this.#accumulate(nowMs);
    let power = 0;
    if (this.#on) {
      const spike = this.#random.chance(0.03) ? this.#random.range(1.5, 3) : 1;
      power = clamp(this.#baseWatts * spike * (1 + this.#random.normal(0, 0.03)), 0, MAX_POWER_W);
    }
    this.#lastPower = power;
    return {
      power: round(power, 1),
      energy: round(this.#energyKwh, 4),
      voltage: round(230 + this.#random.normal(0, 1.5), 1),
      on: this.#on,
    };
  }

  state(): Record<string, StateValue> {
    return { on: this.#on };
  }

  command(name: string, _params: Record<string, unknown>, nowMs: number): CommandOutcome {
    switch (name) {
      case 'turn_on':
        return this.#switch(true, nowMs);
      case 'turn_off':
        return this.#switch(false, nowMs);
      case 'toggle':
        return this.#switch(!this.#on, nowMs);
      default:
        return { status: 'failed', error: `unknown command "${name}"` };
    }
  }

  applyDesired(desired: Record<string, StateValue>, nowMs: number): Record<string, string> {
    const { apply, refused } = sortDesired(this.hello(), desired);
    if (typeof apply.on === 'boolean' && apply.on !== this.#on) this.#switch(apply.on, nowMs);
    return refused;
  }

  #switch(on: boolean, nowMs: number): CommandOutcome {
    // Energy up to the switch was drawn at the old power.
    this.#accumulate(nowMs);
    this.#on = on;
    if (!on) this.#lastPower = 0;
    return { status: 'succeeded', result: { on } };
  }

  /** Integrates the last power reading up to `nowMs`. */
  #accumulate(nowMs: number): void {
    if (this.#lastMs !== undefined && nowMs > this.#lastMs) {
      this.#energyKwh += (this.#lastPower * (nowMs - this.#lastMs)) / 3_600_000 / 1000;
    }
    this.#lastMs = Math.max(nowMs, this.#lastMs ?? nowMs);
  }
}

export const smartPlug: ModelDefinition = {
  kind: SMART_PLUG_KIND,
  idStem: 'plug',
  label: 'plug',
  create: (options) => new SmartPlug(options),
};
