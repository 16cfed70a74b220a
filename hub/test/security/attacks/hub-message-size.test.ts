/**
 * The protocol promises devices that nothing the hub sends them exceeds
 * MAX_PAYLOAD_BYTES [FP-7.2]. Commands and desired state are checked by the
 * size of the whole encoded hub → device message before the API accepts
 * them: 413 payload_too_large, nothing stored or sent (issue 18 item 11).
 */
import t, { type Test } from 'tap';
import { MAX_PAYLOAD_BYTES, type CommandListResponse, type CommandView, type DeviceStateView } from '@iot-hub/protocol';
import { deviceSocket, eventually, type JsonSocket } from '../../helpers/clients.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';

const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));

async function echoDevice(t: Test, hub: TestHub, id: string): Promise<JsonSocket> {
  const { token } = await hub.provision(id);
  const ws = await deviceSocket(t, hub, id, token);
  await ws.next((f) => f.type === 'welcome');
  ws.send({ type: 'hello', mid: 'h', kind: 'display', commands: { show: { params: { text: { type: 'string', required: true } } } } });
  await ws.next((f) => f.type === 'ack' && f.mid === 'h');
  return ws;
}

t.test('a command is refused with 413 once its encoded message would pass 65,536 bytes: ASCII and multi-byte, just under and just over', async (t) => {
  const hub = await startTestHub(t);
  const ws = await echoDevice(t, hub, 'display-1');
  const post = (text: string) => hub.api('POST', '/api/devices/display-1/commands', { name: 'show', params: { text } });

  // The message around the text: its id and expiresAt have fixed widths, so this is exact for every command.
  const probe = (await post('')).body as CommandView;
  const frame = { v: 1, type: 'command', id: probe.id, name: 'show', params: { text: '' }, expiresAt: probe.expiresAt };
  const room = MAX_PAYLOAD_BYTES - bytes(frame);
  t.ok(room > 65_000 && room < 65_536, `room for the text: ${room} bytes`);

  const cases: [string, string, number][] = [
    ['ASCII, exactly at the limit', 'a'.repeat(room), 202],
    ['ASCII, one byte over', 'a'.repeat(room + 1), 413],
    // '€' is 3 bytes in UTF-8: counted in bytes, not characters.
    ['3-byte characters at the limit', '€'.repeat(Math.floor(room / 3)) + 'a'.repeat(room % 3), 202],
    ['3-byte characters, one byte over', '€'.repeat(Math.floor(room / 3)) + 'a'.repeat((room % 3) + 1), 413],
    ['4-byte characters, just over', '🌡'.repeat(Math.floor(room / 4) + 1), 413],
    // 65,490 characters, as in the report: the 65,616-byte command.
    ['the reported 65,490 characters', 'x'.repeat(65_490), 413],
  ];
  for (const [what, text, status] of cases) {
    const res = await post(text);
    t.equal(res.status, status, `${what}: ${status}`);
    if (status === 413) {
      t.match(res.body, { error: 'payload_too_large', code: 413, message: /^payload is larger than the limit: the command would reach the device as \d+ bytes, over the 65536 the protocol allows/ }, `${what}: says why`);
    }
  }
  const list = (await hub.api('GET', '/api/devices/display-1/commands?limit=50')).body as CommandListResponse;
  t.equal(list.commands.length, 3, 'only the probe and the two that fit were stored');
  const received = await eventually(() => {
    const commands = ws.frames.filter((f) => f.type === 'command');
    return commands.length === 3 ? commands : null;
  });
  for (const c of received) t.ok(bytes(c) <= MAX_PAYLOAD_BYTES, `the device received ${bytes(c)} bytes`);
  t.equal(Math.max(...received.map(bytes)), MAX_PAYLOAD_BYTES, 'the largest is exactly at the limit');
});

t.test('desired state is refused with 413 once the desired message (every key in state and delta) would pass 65,536 bytes', async (t) => {
  const hub = await startTestHub(t);
  const ws = await echoDevice(t, hub, 'display-2');
  const patch = (state: Record<string, string>) => hub.api('PATCH', '/api/devices/display-2/state/desired', { state });

  // A control character is 1 character but 6 bytes once encoded (\u0001): 256 of them are 1,538 bytes.
  // Each key is in the message twice: in `state`, and in `delta` until the device reports it [FP-4.3].
  const heavy = '\u0001'.repeat(256);
  const first: Record<string, string> = {};
  for (let i = 0; i < 10; i++) first[`a${String(i).padStart(2, '0')}`] = heavy;
  t.equal((await patch(first)).status, 200, 'the first 10 keys fit');
  const second: Record<string, string> = {};
  for (let i = 0; i < 11; i++) second[`b${String(i).padStart(2, '0')}`] = heavy;
  t.equal((await patch(second)).status, 200, '21 keys fit');

  // One more key whose value (twice) fills the message to the limit, then one character more.
  const all = { ...first, ...second, c: '' };
  const base = { v: 1, type: 'desired', state: all, version: 3, delta: all };
  const room = MAX_PAYLOAD_BYTES - bytes(base);
  t.ok(room > 0 && room < 2 * 1536, `room for the last value, twice: ${room} bytes`);
  const fill = Math.floor(room / 2);
  const filler = (n: number) => '\u0001'.repeat(Math.floor(n / 6)) + 'a'.repeat(n % 6);
  const over = await patch({ c: filler(fill + 1) });
  t.match(over, { status: 413, body: { error: 'payload_too_large', message: `the desired state would reach the device as ${bytes(base) + 2 * (fill + 1)} bytes, over the 65536` } });
  const unchanged = (await hub.api('GET', '/api/devices/display-2/state')).body as DeviceStateView;
  t.equal(unchanged.version, 2, 'nothing changed');
  t.notOk('c' in unchanged.desired);

  t.equal((await patch({ c: filler(fill) })).status, 200, 'the largest that fits is accepted');
  const sent = await ws.next((f) => f.type === 'desired' && f.version === 3);
  t.equal(bytes(sent), MAX_PAYLOAD_BYTES - (room % 2), 'the device got at most 65,536 bytes');
});
