/** What every check of one run shares: the device, the hub, the observer and the run's time limits. */
import type { ProbeRequest } from '@iot-hub/protocol';
import { HubApiError, type HubClient } from './hub-client.js';
import type { Observer } from './observer.js';

/** A device that just reconnected may not have subscribed to its commands yet (MQTT): try again this often. */
const NOT_READY_RETRY_MS = 250;

export class RunContext {
  constructor(
    readonly deviceId: string,
    readonly hub: HubClient,
    readonly observer: Observer,
    /** How long to wait for each answer of the device. */
    readonly timeoutMs: number,
    readonly progress: (line: string) => void,
  ) {}

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** Sends a command probe, waiting up to timeoutMs for a device that is not (yet) ready for commands. */
  async sendCommand(probe: Extract<ProbeRequest, { kind: 'command' }>): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      try {
        await this.hub.probe(this.deviceId, probe);
        return;
      } catch (err) {
        if (!(err instanceof HubApiError) || err.error !== 'not_connected' || Date.now() > deadline) throw err;
        await this.sleep(NOT_READY_RETRY_MS);
      }
    }
  }
}
