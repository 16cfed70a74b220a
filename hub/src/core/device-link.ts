/**
 * How the core reaches a connected device without knowing its transport.
 * The MQTT adapter and the WebSocket adapter each implement it.
 */
import type { HubMessage, Transport } from '@iot-hub/protocol';

/** `probe`: an admin asked the device to reconnect (POST /api/devices/{id}/probes, the conformance runner). */
export type CloseReason = 'replaced' | 'heartbeat-timeout' | 'too-many-errors' | 'deleted' | 'shutdown' | 'probe';

export interface DeviceLink {
  readonly transport: Transport;
  /** Sends a hub → device message (error, ack, command, desired). Never throws. */
  send(message: HubMessage): void;
  /** Closes the connection; the adapter then reports the end of the session. */
  close(reason: CloseReason): void;
}
