/**
 * Where the core hands what concerns control: a device became able to
 * receive commands or desired state on a new connection, and the `result`
 * and `state` messages it sends. The command service and the state service
 * implement these; the core knows nothing more of them.
 */
import type { ResultMessage, StateMessage } from '@iot-hub/protocol';
import type { DeviceLink } from './device-link.js';

/** Hub → device channels a connection can be ready for (MQTT: once subscribed to them). */
export type ControlChannel = 'commands' | 'desired';

/**
 * Every control channel, in the order a connection that becomes ready for
 * several at once receives what waits on them: the desired state first, so a
 * device has its settings before it acts on a command [FP-3.1, FP-3.2].
 */
export const CONTROL_CHANNELS: readonly ControlChannel[] = ['desired', 'commands'];

export interface CommandInbox {
  /**
   * A new connection of the device can take commands: send what waits for it,
   * in order. A promise (a store read asynchronously) delays the channels that
   * follow until it settles; it must not reject.
   */
  deviceReady(deviceId: string, link: DeviceLink): void | Promise<void>;
  /**
   * A `result` from the device [FP-4.5]. Resolves once recorded durably (the
   * transport then acknowledges it); results for unknown or ended commands
   * are recorded as late or ignored, never an error.
   */
  result(deviceId: string, message: ResultMessage, now: number): Promise<void>;
}

export interface StateInbox {
  /** A new connection of the device can take desired state: send it with its version [FP-4.3]. Like CommandInbox.deviceReady. */
  deviceReady(deviceId: string, link: DeviceLink): void | Promise<void>;
  /** Reported state from the device; resolves once recorded durably. */
  reported(deviceId: string, message: StateMessage, now: number): Promise<void>;
}
