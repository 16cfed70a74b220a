import t from 'tap';
import type { DeviceMessageEvent } from '@iot-hub/protocol';
import { MessageLog } from '../src/data/message-log.js';

const message = (ts: number, direction: 'in' | 'out' = 'in'): DeviceMessageEvent => ({
  event: 'message',
  deviceId: 'd',
  direction,
  ts,
  type: direction === 'in' ? 'telemetry' : 'ack',
  body: '{}',
  truncated: false,
});

t.test('keeps the last N messages, newest first', async (t) => {
  const log = new MessageLog(3);
  t.same(log.entries(), []);
  for (let ts = 1; ts <= 5; ts++) log.add(message(ts, ts % 2 ? 'in' : 'out'));
  t.same(log.entries().map((e) => e.ts), [5, 4, 3]);
  t.same(log.entries().map((e) => e.n), [4, 3, 2], 'stable keys');
  t.equal(log.received, 5);
  t.same(log.entries('out').map((e) => e.ts), [4]);
  t.same(log.entries('in').map((e) => e.ts), [5, 3]);
  log.clear();
  t.same(log.entries(), []);
  log.add(message(9));
  t.same(log.entries().map((e) => e.ts), [9]);
});
