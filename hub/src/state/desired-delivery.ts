/**
 * Getting a `desired` message to a device within what it can receive
 * [FP-7.2], shared by the SQLite and the PostgreSQL state services: the size
 * check a patch must pass, and the send that holds back a document too large
 * for the device.
 */
import { MAX_PAYLOAD_BYTES, ProtocolError, hubMessageBytes, type DesiredMessage } from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { DeviceLink } from '../core/device-link.js';
import { deviceMessageLimit } from '../registry/capabilities.js';
import type { DeviceLookup, StateCounters } from './device-states.js';
import { largestDesiredMessage, type Shadow } from './shadow.js';

/**
 * The desired message must fit what the device can receive even when every
 * key is in the delta (after the device reset), so that it can always be
 * sent [FP-7.2]: past the protocol's limit 413, past the device's 422. A
 * patch that does not grow it passes, so operators can shrink a document
 * stored before the device declared a smaller buffer.
 */
export function checkDesiredSize(registry: DeviceLookup, deviceId: string, current: Shadow, next: Shadow): void {
  const bytes = hubMessageBytes(largestDesiredMessage(next));
  const limit = deviceMessageLimit(registry.get(deviceId)?.record.capabilities);
  if (bytes <= limit || bytes <= hubMessageBytes(largestDesiredMessage(current))) return;
  if (bytes > MAX_PAYLOAD_BYTES) {
    throw new ProtocolError('payload_too_large', `the desired state would reach the device as ${bytes} bytes, over the ${MAX_PAYLOAD_BYTES} the protocol allows: remove keys (null) or send shorter values`);
  }
  throw new ProtocolError('too_large_for_device', `the desired state would reach the device as ${bytes} bytes, over the ${limit} bytes device ${JSON.stringify(deviceId)} can receive (hello.maxMessageBytes): remove keys (null) or send shorter values`);
}

export interface DesiredSendContext {
  registry: DeviceLookup;
  counters: StateCounters;
  log: Logger;
}

/**
 * Sends `desired` on the link, never past the size the device said it can
 * receive: a document stored before the device declared a smaller buffer is
 * held back, logged and counted, until operators shrink it.
 */
export function sendDesired(ctx: DesiredSendContext, deviceId: string, message: DesiredMessage, link: DeviceLink): void {
  const limit = deviceMessageLimit(ctx.registry.get(deviceId)?.record.capabilities);
  const bytes = hubMessageBytes(message);
  if (bytes > limit) {
    ctx.counters.tooLargeForDevice += 1;
    ctx.log.warn({ deviceId, bytes, limit, version: message.version }, 'desired state not sent: larger than the device can receive (hello.maxMessageBytes)');
    return;
  }
  link.send(message);
}
