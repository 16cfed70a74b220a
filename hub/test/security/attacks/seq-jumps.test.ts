/**
 * Seq jumps (issue 18, item 16): one seq of 2^53 - 1 made stats.seqGaps
 * 9 × 10^15, and the way back stopped gaps from being counted at all. A
 * jump past SEQ_RESET_JUMP either way counts as one reset [FP-4.2].
 */
import t from 'tap';
import type { DeviceView } from '@iot-hub/protocol';
import { deviceSocket } from '../../helpers/clients.js';
import { startTestHub } from '../../helpers/hub.js';

t.test('a seq jump to 2^53 - 1 and back counts as resets, not as gaps', async (t) => {
  const hub = await startTestHub(t);
  const { token } = await hub.provision('jumper');
  const ws = await deviceSocket(t, hub, 'jumper', token);
  await ws.next((f) => f.type === 'welcome');
  const seqs = [1, 2, Number.MAX_SAFE_INTEGER, 5, 7, 8, 100_008, 100_009 + 100_001];
  for (const [i, seq] of seqs.entries()) {
    ws.send({ type: 'telemetry', mid: i, seq, metrics: { x: i } });
    await ws.next((f) => f.type === 'ack' && f.mid === i);
  }
  const { stats } = (await hub.api('GET', '/api/devices/jumper')).body as DeviceView;
  // 2 → 2^53-1: reset; → 5: reset; 5 → 7: one gap (6); 8 → 100,008: 99,999 gaps (within the window of a loss); → +100,002: reset.
  t.same(stats, { messages: seqs.length, duplicates: 0, seqGaps: 1 + 99_999, seqResets: 3, errors: 0 });
});
