/**
 * Errors of a simulated device connection. Peer and network faults carry a
 * stable `code` (like ws's `WS_ERR_*`), so callers branch on codes, never
 * on message text.
 */
import type { ErrorMessage } from '@iot-hub/protocol';

export type DeviceSimErrorCode =
  /** A send while the link is down (reconnecting or closed). */
  | 'not_connected'
  /** The link dropped before the hub acknowledged the message. */
  | 'connection_lost'
  /** No acknowledgement within the ack timeout. */
  | 'ack_timeout'
  /** The hub could not be reached (refused, DNS, timeout). */
  | 'unreachable'
  /** The hub refused the credentials: retrying cannot help. */
  | 'unauthorized'
  /** The hub closed the link for a reason retrying cannot fix (forbidden, replaced). */
  | 'rejected'
  /** The hub answered a message with an `error` [FP-8]. */
  | 'hub_error'
  /** close() was called. */
  | 'closed';

/** Codes after which a device stops reconnecting. */
const FATAL: ReadonlySet<DeviceSimErrorCode> = new Set(['unauthorized', 'rejected']);

export class DeviceSimError extends Error {
  readonly code: DeviceSimErrorCode;
  /** The hub's error message, for `hub_error`. */
  readonly hubError: ErrorMessage | undefined;

  constructor(code: DeviceSimErrorCode, message: string, hubError?: ErrorMessage) {
    super(message);
    this.name = 'DeviceSimError';
    this.code = code;
    this.hubError = hubError;
  }

  get fatal(): boolean {
    return FATAL.has(this.code);
  }
}

/** Maps a Node network error to a DeviceSimError with a readable reason. */
export function networkError(err: unknown, where: string): DeviceSimError {
  if (err instanceof DeviceSimError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason = code ?? (err instanceof Error ? err.message : String(err));
  return new DeviceSimError('unreachable', `cannot reach ${where}: ${reason}`);
}
