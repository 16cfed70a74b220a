/**
 * Dimmable LED light: on/off and a brightness, set by commands or desired
 * state; power follows brightness (LED drivers are roughly linear above a
 * floor) and a small standby draw while off.
 */
import type { Capabilities, MetricValue, StateValue } from '@iot-hub/protocol';
import { Random, clamp, round } from '../random.js';
import { sortDesired } from './desired-state.js';
import { checkCommand } from './command-params.js';
import type { CommandOutcome, DeviceModel, ModelDefinition, ModelOptions } from './model.js';

export const DIMMABLE_LIGHT_KIND = 'dimmable-light';

const STANDBY_W = 0.3;

export class DimmableLight implements DeviceModel {
  readonly kind = DIMMABLE_LIGHT_KIND;
  readonly #random: Random;
  /** Rated power at full brightness, fixed per seed (a 6 to 12 W LED bulb). */
  readonly #ratedWatts: number;
  #on: boolean;
  /** 1..100; kept while off, so turning on restores it. */
  #brightness: number;

  constructor(options: ModelOptions) {
    this.#random = new Random(options.seed);
    this.#ratedWatts = round(this.#random.range(6, 12), 1);
    this.#on = this.#random.chance(0.3);
    this.#brightness = this.#random.int(4, 10) * 10;
  }

  hello(): Capabilities {
    return {
      kind: this.kind,
      fw: 'sim-1.0.0',
      model: 'SIM-LED-E27',
      metrics: {
        on: { type: 'boolean', description: 'light on' },
        brightness: { type: 'number', unit: '%', min: 0, max: 100, description: '0 while off' },
        power: { type: 'number', unit: 'W', min: 0, max: 15 },
      },
      commands: {
        turn_on: {
          description: 'switch on, at the given or the last brightness',
          params: { brightness: { type: 'integer', unit: '%', min: 1, max: 100 } },
        },
        turn_off: { description: 'switch off' },
        toggle: { description: 'switch on if off, off if on' },
        set_brightness: {
          description: 'set the brightness; 0 switches off, more than 0 switches on',
          params: { brightness: { type: 'integer', unit: '%', min: 0, max: 100, required: true } },
        },
      },
      state: {
        on: { type: 'boolean', settable: true },
        brightness: { type: 'integer', unit: '%', min: 1, max: 100, settable: true, description: 'level when on' },
      },
      heartbeatSec: 60,
    };
  }

  sample(_nowMs: number): Record<string, MetricValue> {
    const level = this.#on ? this.#brightness : 0;
    // Drivers draw about 10 % of rated power at the lowest level.
    const watts = this.#on ? this.#ratedWatts * (0.1 + 0.9 * (level / 100)) * (1 + this.#random.normal(0, 0.01)) : STANDBY_W;
    return { on: this.#on, brightness: level, power: round(clamp(watts, 0, 15), 2) };
  }

  state(): Record<string, StateValue> {
    return { on: this.#on, brightness: this.#brightness };
  }

  command(name: string, params: Record<string, unknown>): CommandOutcome {
    const refused = checkCommand(this.hello(), name, params);
    if (refused) return refused;
    switch (name) {
      case 'turn_on':
        this.#set(true, (params.brightness as number | undefined) ?? this.#brightness);
        break;
      case 'turn_off':
        this.#on = false;
        break;
      case 'toggle':
        this.#on = !this.#on;
        break;
      case 'set_brightness': {
        const level = params.brightness as number;
        if (level === 0) this.#on = false;
        else this.#set(true, level);
        break;
      }
    }
    return { status: 'succeeded', result: this.state() };
  }

  applyDesired(desired: Record<string, StateValue>): Record<string, string> {
    const { apply, refused } = sortDesired(this.hello(), desired);
    if (typeof apply.brightness === 'number') this.#brightness = apply.brightness;
    if (typeof apply.on === 'boolean') this.#on = apply.on;
    return refused;
  }

  #set(on: boolean, brightness: number): void {
    this.#on = on;
    this.#brightness = brightness;
  }
}

export const dimmableLight: ModelDefinition = {
  kind: DIMMABLE_LIGHT_KIND,
  idStem: 'light',
  label: 'light',
  create: (options) => new DimmableLight(options),
};
