/**
 * MQTT topics [FP-3.1]: `devices/{deviceId}/{channel}`.
 */
import { DEVICE_ID_MAX_LENGTH } from './limits.js';

/** Channels a device publishes on. */
export const DEVICE_CHANNELS = ['hello', 'telemetry', 'state', 'results', 'status', 'ping'] as const;
/** Channels the hub publishes on (the device subscribes to `devices/{id}/#` or to each). */
export const HUB_CHANNELS = ['commands', 'desired', 'errors', 'pong'] as const;

export type DeviceChannel = (typeof DEVICE_CHANNELS)[number];
export type HubChannel = (typeof HUB_CHANNELS)[number];
export type Channel = DeviceChannel | HubChannel;

export const TOPIC_PREFIX = 'devices';

const deviceChannelSet: ReadonlySet<string> = new Set(DEVICE_CHANNELS);
const channelSet: ReadonlySet<string> = new Set([...DEVICE_CHANNELS, ...HUB_CHANNELS]);

export function deviceTopic(deviceId: string, channel: Channel): string {
  return `${TOPIC_PREFIX}/${deviceId}/${channel}`;
}

/** Wildcard a device subscribes to for everything the hub sends it. */
export function deviceSubscription(deviceId: string): string {
  return `${TOPIC_PREFIX}/${deviceId}/#`;
}

export interface ParsedTopic {
  deviceId: string;
  channel: Channel;
}

/** Parses `devices/{id}/{channel}`; null when the topic is not of that shape or the channel is unknown. */
export function parseTopic(topic: string): ParsedTopic | null {
  const first = topic.indexOf('/');
  if (first < 0 || topic.slice(0, first) !== TOPIC_PREFIX) return null;
  const second = topic.indexOf('/', first + 1);
  if (second < 0) return null;
  const deviceId = topic.slice(first + 1, second);
  const channel = topic.slice(second + 1);
  if (deviceId.length === 0 || deviceId.length > DEVICE_ID_MAX_LENGTH) return null;
  if (!channelSet.has(channel)) return null;
  return { deviceId, channel: channel as Channel };
}

export function isDeviceChannel(channel: string): channel is DeviceChannel {
  return deviceChannelSet.has(channel);
}
