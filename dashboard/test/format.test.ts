import t from 'tap';
import type { Capabilities, PresenceInfo } from '@iot-hub/protocol';
import {
  formatLastSeen,
  formatMetric,
  formatNumber,
  formatRelativeTime,
  formatValue,
  listPresenceDetail,
  presenceDetail,
  presenceLabel,
  presenceReasonLabel,
} from '../src/format.js';

const NOW = Date.UTC(2025, 5, 15, 12, 0, 0);
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

t.test('numbers keep fewer decimals as they grow', async (t) => {
  t.equal(formatNumber(21.5, 'en-US'), '21.5');
  t.equal(formatNumber(21.5678, 'en-US'), '21.57');
  t.equal(formatNumber(1234.56, 'en-US'), '1,234.6');
  t.equal(formatNumber(0.12345, 'en-US'), '0.123');
  t.equal(formatNumber(42, 'en-US'), '42');
  t.equal(formatNumber(-3.456, 'en-US'), '-3.46');
  t.equal(formatNumber(21.5, 'de-DE'), '21,5', 'the locale decides the separator');
  t.equal(formatNumber(Number.NaN, 'en-US'), 'NaN');
});

t.test('values carry their unit; booleans read on/off', async (t) => {
  t.equal(formatValue(21.5, '°C', 'en-US'), '21.5 °C');
  t.equal(formatValue(45, '%', 'en-US'), '45%');
  t.equal(formatValue(230.4, 'V', 'en-US'), '230.4 V');
  t.equal(formatValue(3, undefined, 'en-US'), '3');
  t.equal(formatValue(3, '', 'en-US'), '3');
  t.equal(formatValue(true, 'W'), 'on');
  t.equal(formatValue(false), 'off');
});

t.test('formatMetric takes the unit from the declared capabilities', async (t) => {
  const caps: Capabilities = {
    kind: 'thermostat',
    metrics: { temperature: { type: 'number', unit: '°C' }, heating: { type: 'boolean' } },
    commands: {},
    heartbeatSec: 60,
  };
  t.equal(formatMetric(caps, 'temperature', 21.5, 'en-US'), '21.5 °C');
  t.equal(formatMetric(caps, 'heating', true, 'en-US'), 'on');
  t.equal(formatMetric(caps, 'undeclared', 7, 'en-US'), '7', 'an undeclared metric has no unit');
  t.equal(formatMetric(null, 'temperature', 21.5, 'en-US'), '21.5', 'no hello yet: no unit');
});

t.test('relative times against a fixed now', async (t) => {
  t.equal(formatRelativeTime(NOW, NOW), 'just now');
  t.equal(formatRelativeTime(NOW - 9 * SEC, NOW), 'just now');
  t.equal(formatRelativeTime(NOW + 5 * SEC, NOW), 'just now', 'a clock slightly ahead is not "in the future"');
  t.equal(formatRelativeTime(NOW - 45 * SEC, NOW), '45 s ago');
  t.equal(formatRelativeTime(NOW - 2 * MIN - 10 * SEC, NOW), '2 min ago');
  t.equal(formatRelativeTime(NOW - 59 * MIN, NOW), '59 min ago');
  t.equal(formatRelativeTime(NOW - 3 * HOUR, NOW), '3 h ago');
  t.equal(formatRelativeTime(NOW - DAY - HOUR, NOW), '1 day ago');
  t.equal(formatRelativeTime(NOW - 5 * DAY, NOW), '5 days ago');
  t.equal(formatRelativeTime(Date.UTC(2025, 0, 10, 12), NOW, 'en-US'), 'Jan 10, 2025', 'older than a month: the date');
});

t.test('last seen', async (t) => {
  t.equal(formatLastSeen(NOW - 2 * MIN, NOW), 'last seen 2 min ago');
  t.equal(formatLastSeen(null, NOW), 'never seen');
});

t.test('presence labels and details', async (t) => {
  t.equal(presenceLabel('online'), 'Online');
  t.equal(presenceLabel('offline'), 'Offline');
  t.equal(presenceLabel('unknown'), 'Unknown');
  t.equal(presenceReasonLabel('heartbeat-timeout'), 'missed its heartbeat');

  const online: PresenceInfo = { status: 'online', since: NOW - 5 * MIN, reason: 'connected', transport: 'mqtt' };
  t.equal(presenceDetail(online, NOW, NOW), 'connected 5 min ago via MQTT');
  t.equal(presenceDetail({ ...online, transport: 'ws' }, NOW, NOW), 'connected 5 min ago via WebSocket');

  const lost: PresenceInfo = { status: 'offline', since: NOW - MIN, reason: 'last-will', transport: 'mqtt' };
  t.equal(presenceDetail(lost, NOW - 2 * MIN, NOW), 'last seen 2 min ago · connection lost (last will)');

  const fresh: PresenceInfo = { status: 'offline', since: NOW, reason: 'never-connected', transport: null };
  t.equal(presenceDetail(fresh, null, NOW), 'never seen');

  const restarted: PresenceInfo = { status: 'unknown', since: NOW, reason: 'hub-restart', transport: 'mqtt' };
  t.equal(presenceDetail(restarted, NOW - 3 * HOUR, NOW), 'last seen 3 h ago · not heard from since the hub restarted');
});

t.test('a boolean metric named for what true is reads in its own words', async (t) => {
  t.equal(formatMetric(null, 'open', true), 'open');
  t.equal(formatMetric(null, 'open', false), 'closed', 'a contact sensor reads closed, not "open off"');
  t.equal(formatMetric(null, 'locked', false), 'unlocked');
  t.equal(formatMetric(null, 'heating', false), 'off', 'any other boolean: on/off');
  t.equal(formatMetric(null, 'constructor', true), 'on', 'device-chosen names are map keys, not object keys');
});

t.test('a list row says when the device was last seen, not when it connected', async (t) => {
  const online: PresenceInfo = { status: 'online', since: NOW - 3_600_000, reason: 'connected', transport: 'mqtt' };
  t.equal(listPresenceDetail(online, NOW - 20_000, NOW), 'last seen 20 s ago via MQTT');
  const offline: PresenceInfo = { status: 'offline', since: NOW - 60_000, reason: 'connection-lost', transport: 'ws' };
  t.equal(listPresenceDetail(offline, NOW - 60_000, NOW), presenceDetail(offline, NOW - 60_000, NOW), 'offline: with the reason');
});
