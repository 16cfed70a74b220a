/**
 * The raw message feed for the dashboard's inspector: device → hub messages
 * as the session handles them and hub → device messages as the core sends
 * them. Nothing is built unless someone declared interest in the device
 * (EventBus.wants), so the ingest path pays a boolean check when nobody looks.
 */
import { MESSAGE_BODY_MAX_CHARS, type DeviceMessage, type HubMessage, type Transport } from '@iot-hub/protocol';
import type { DeviceLink } from './device-link.js';
import type { EventBus } from '../events/event-bus.js';

export function emitMessage(events: EventBus, deviceId: string, direction: 'in' | 'out', message: DeviceMessage | HubMessage, ts = Date.now()): void {
  if (!events.wants('message', deviceId)) return;
  let body: string;
  try {
    // A repeated auth frame carries the device's token: viewers may watch the feed, so it never shows.
    body = JSON.stringify((message as { type?: unknown }).type === 'auth' ? { ...message, token: '(redacted)' } : message);
  } catch {
    body = '"(not serialisable)"';
  }
  const truncated = body.length > MESSAGE_BODY_MAX_CHARS;
  if (truncated) body = body.slice(0, MESSAGE_BODY_MAX_CHARS);
  events.emit('message', { deviceId, direction, ts, type: String((message as { type?: unknown }).type ?? 'telemetry'), body, truncated });
}

/** The link the core uses for a device: every send is counted in `sent` (by transport) and offered to the feed. */
export function tapLink(deviceId: string, link: DeviceLink, events: EventBus, sent: Record<Transport, number>): DeviceLink {
  const transport = link.transport;
  return {
    transport,
    send(message: HubMessage): void {
      sent[transport] += 1;
      link.send(message);
      emitMessage(events, deviceId, 'out', message);
    },
    close: (reason) => link.close(reason),
  };
}
