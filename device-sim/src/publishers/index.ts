import { LiteMqttPublisher } from './lite-mqtt.js';
import { MqttJsPublisher } from './mqttjs.js';
import type { LoadPublisher, PublisherConnectOptions, PublisherKind } from './publisher.js';

export type { LoadPublisher, PublisherConnectOptions, PublisherKind } from './publisher.js';
export { ConnectRefusedError } from './lite-mqtt.js';

export function connectPublisher(kind: PublisherKind, options: PublisherConnectOptions): Promise<LoadPublisher> {
  return kind === 'lite' ? LiteMqttPublisher.connect(options) : MqttJsPublisher.connect(options);
}
