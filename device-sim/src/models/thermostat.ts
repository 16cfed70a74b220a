/**
 * Room thermostat with a radiator valve: a mode (`heat`, `eco`, `off`) and
 * a target set by commands or desired state. The room follows a simple
 * thermal model: it loses heat towards the outside air (which has a daily
 * cycle) and gains it while heating; heating switches with a hysteresis
 * band around the effective target, as real two-point controllers do.
 */
import type { Capabilities, MetricValue, StateValue } from '@iot-hub/protocol';
import { Random, clamp, round } from '../random.js';
import { checkCommand } from './command-params.js';
import { sortDesired } from './desired-state.js';
import { hourOfDay, type CommandOutcome, type DeviceModel, type ModelDefinition, type ModelOptions } from './model.js';

export const THERMOSTAT_KIND = 'thermostat';

export type ThermostatMode = 'heat' | 'eco' | 'off';
const MODES: readonly ThermostatMode[] = ['heat', 'eco', 'off'];

export const MIN_TARGET_C = 5;
export const MAX_TARGET_C = 30;
/** Eco lowers the target by this much. */
export const ECO_SETBACK_C = 3;
/** Off still protects against frost. */
export const FROST_PROTECTION_C = 5;
/** Heating turns on below target − band and off above target + band. */
const HYSTERESIS_C = 0.25;
/** Heat loss per hour, as a fraction of the indoor−outdoor difference. */
const LOSS_PER_HOUR = 0.12;
/** Largest integration step: the model stays stable over any gap. */
const STEP_MS = 60_000;

export class Thermostat implements DeviceModel {
  readonly kind = THERMOSTAT_KIND;
  readonly #random: Random;
  readonly #utcOffsetHours: number;
  /** °C per hour the radiator adds at full power, fixed per seed. */
  readonly #heatPerHour: number;
  readonly #outsideMean: number;
  #mode: ThermostatMode = 'heat';
  #target: number;
  #temperature: number;
  #heating = false;
  #lastMs: number | undefined;

  constructor(options: ModelOptions) {
    this.#random = new Random(options.seed);
    this.#utcOffsetHours = options.utcOffsetHours ?? 0;
    this.#heatPerHour = this.#random.range(2.5, 4);
    this.#outsideMean = this.#random.range(2, 12);
    this.#target = this.#random.int(40, 44) / 2; // 20 to 22 in half degrees
    this.#temperature = this.#target - this.#random.range(0, 1.5);
    this.#heating = this.#temperature < this.#effectiveTarget() - HYSTERESIS_C;
  }

  hello(): Capabilities {
    return {
      kind: this.kind,
      fw: 'sim-1.0.0',
      model: 'SIM-TRV3',
      metrics: {
        temperature: { type: 'number', unit: '°C', min: -20, max: 50, description: 'room temperature' },
        target: { type: 'number', unit: '°C', min: MIN_TARGET_C, max: MAX_TARGET_C, description: 'target in effect (after eco or frost protection)' },
        heating: { type: 'boolean', description: 'valve open' },
      },
      commands: {
        set_target: {
          description: 'set the target temperature',
          params: { target: { type: 'number', unit: '°C', min: MIN_TARGET_C, max: MAX_TARGET_C, required: true } },
        },
        set_mode: {
          description: `heat: hold the target; eco: ${ECO_SETBACK_C} °C lower; off: frost protection at ${FROST_PROTECTION_C} °C`,
          params: { mode: { type: 'enum', values: [...MODES], required: true } },
        },
      },
      state: {
        mode: { type: 'enum', values: [...MODES], settable: true, description: `heat: hold the target; eco: ${ECO_SETBACK_C} °C lower; off: frost protection` },
        target: { type: 'number', unit: '°C', min: MIN_TARGET_C, max: MAX_TARGET_C, settable: true, description: 'set-point, in steps of 0.1 °C' },
        heating: { type: 'boolean', description: 'valve open' },
      },
      heartbeatSec: 60,
    };
  }

  sample(nowMs: number): Record<string, MetricValue> {
    this.advance(nowMs);
    return {
      // The sensor reads with a little noise; the model itself is smooth.
      temperature: round(this.#temperature + this.#random.normal(0, 0.02), 2),
      target: this.#effectiveTarget(),
      heating: this.#heating,
    };
  }

  /** Runs the room and the controller forward to `nowMs`. */
  advance(nowMs: number): void {
    const from = this.#lastMs ?? nowMs;
    // A year away is a cold start: no need to simulate every minute of it.
    let t = Math.max(from, nowMs - 7 * 24 * 3_600_000);
    while (t < nowMs) {
      const dt = Math.min(STEP_MS, nowMs - t);
      const hours = dt / 3_600_000;
      const outside = this.#outside(t);
      this.#temperature += hours * (-LOSS_PER_HOUR * (this.#temperature - outside) + (this.#heating ? this.#heatPerHour : 0));
      this.#control();
      t += dt;
    }
    this.#lastMs = Math.max(from, nowMs);
  }

  state(): Record<string, StateValue> {
    return { mode: this.#mode, target: this.#target, heating: this.#heating };
  }

  command(name: string, params: Record<string, unknown>, nowMs: number): CommandOutcome {
    const refused = checkCommand(this.hello(), name, params);
    if (refused) return refused;
    // Time up to now passed under the old settings.
    this.advance(nowMs);
    if (name === 'set_target') this.#target = round(params.target as number, 1);
    else this.#mode = params.mode as ThermostatMode;
    this.#control();
    return { status: 'succeeded', result: { mode: this.#mode, target: this.#target } };
  }

  applyDesired(desired: Record<string, StateValue>, nowMs: number): Record<string, string> {
    this.advance(nowMs);
    const { apply, refused } = sortDesired(this.hello(), desired);
    const { target, mode } = apply;
    // The dial has tenths of a degree: a finer set-point would be reported as another value, never reached.
    if (typeof target === 'number' && round(target, 1) !== target) refused.target = 'the thermostat sets tenths of a degree';
    else if (typeof target === 'number') this.#target = target;
    if (typeof mode === 'string') this.#mode = mode as ThermostatMode;
    this.#control();
    return refused;
  }

  #effectiveTarget(): number {
    if (this.#mode === 'off') return FROST_PROTECTION_C;
    return this.#mode === 'eco' ? clamp(this.#target - ECO_SETBACK_C, MIN_TARGET_C, MAX_TARGET_C) : this.#target;
  }

  /** Two-point control with hysteresis. */
  #control(): void {
    const target = this.#effectiveTarget();
    if (this.#temperature < target - HYSTERESIS_C) this.#heating = true;
    else if (this.#temperature > target + HYSTERESIS_C) this.#heating = false;
  }

  /** Outside air: coldest before dawn, warmest mid afternoon. */
  #outside(tMs: number): number {
    return this.#outsideMean + 4 * Math.cos((2 * Math.PI * (hourOfDay(tMs, this.#utcOffsetHours) - 15)) / 24);
  }
}

export const thermostat: ModelDefinition = {
  kind: THERMOSTAT_KIND,
  idStem: 'thermostat',
  label: 'thermostat',
  create: (options) => new Thermostat(options),
};
