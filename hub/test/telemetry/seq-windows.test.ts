/** SeqWindow and BootWindows without a hub [FP-4.2]. */
import t from 'tap';
import { MAX_BOOT_WINDOWS, SEQ_WINDOW, type DeviceStats } from '@iot-hub/protocol';
import { BootWindows, SeqCheck, SeqWindow, bootKey, bootOfKey } from '../../src/telemetry/seq-windows.js';

const stats = (): DeviceStats => ({ messages: 0, duplicates: 0, seqGaps: 0, seqResets: 0, errors: 0 });

t.test('a named boot keeps seq 0; the 1.0 window restarts at it', async (t) => {
  const s = stats();
  const named = new SeqWindow('n:1');
  t.same([0, 1, 0].map((seq) => named.accept(seq, s)), [SeqCheck.New, SeqCheck.New, SeqCheck.Duplicate]);
  const legacy = new SeqWindow(null);
  t.same([0, 1, 0, 1].map((seq) => legacy.accept(seq, s)), [SeqCheck.New, SeqCheck.New, SeqCheck.New, SeqCheck.New]);
});

t.test('gaps, late fills and resets are counted per window', async (t) => {
  const s = stats();
  const w = new SeqWindow('n:1');
  t.equal(w.accept(0, s), SeqCheck.New);
  t.equal(w.accept(3, s), SeqCheck.NewStatsChanged);
  t.equal(s.seqGaps, 2);
  w.accept(2, s);
  t.equal(s.seqGaps, 1, 'a late seq fills a gap');
  t.equal(w.accept(500_000, s), SeqCheck.NewStatsChanged);
  t.same([s.seqGaps, s.seqResets], [1, 1]);
});

t.test('the window holds the last SEQ_WINDOW seqs', async (t) => {
  const s = stats();
  const w = new SeqWindow('n:1');
  for (let seq = 0; seq <= SEQ_WINDOW; seq++) w.accept(seq, s);
  t.equal(w.accept(0, s), SeqCheck.New, 'seq 0 has left the window');
  t.equal(w.accept(SEQ_WINDOW, s), SeqCheck.Duplicate);
});

t.test('committed runs leave out seqs in flight; a failed seq is forgotten', async (t) => {
  const s = stats();
  const w = new SeqWindow('n:1');
  for (const seq of [0, 1, 2, 3, 7, 8, 5]) w.accept(seq, s);
  w.pending.set(8, Promise.resolve());
  t.same(w.committedRuns(), [0, 4, 7, 1, 5, 1]);
  w.forget(2);
  t.same(w.committedRuns(), [0, 2, 3, 1, 7, 1, 5, 1]);
  t.equal(w.accept(2, s), SeqCheck.New, 'its resend is new');
  w.pending.delete(8);
  const back = SeqWindow.fromRuns('n:1', w.last, w.committedRuns(), 5);
  t.same([...back.order], [...w.order]);
  t.equal(back.last, 8);
  t.equal(back.accept(7, s), SeqCheck.Duplicate);
});

t.test('boot keys tell integer and string apart and round-trip', async (t) => {
  t.not(bootKey(5), bootKey('5'));
  t.equal(bootOfKey(bootKey(5)), 5);
  t.equal(bootOfKey(bootKey('5')), '5');
  t.equal(bootOfKey(bootKey('n:x')), 'n:x');
});

t.test('boot windows: LRU eviction spares the current boot; no boot = the 1.0 window', async (t) => {
  const boots = new BootWindows();
  t.equal(boots.window(undefined, 1).key, null, 'no boot named: the 1.0 window');
  t.equal(boots.setCurrent(1, 1), true);
  t.equal(boots.setCurrent(1, 2), false, 'the same boot again');
  t.equal(boots.window(undefined, 3).key, 'n:1');
  for (let b = 2; b <= MAX_BOOT_WINDOWS + 1; b++) boots.window(b, 10 + b);
  t.equal(boots.size, MAX_BOOT_WINDOWS);
  t.same([...boots.windows()].map((w) => w.key), ['n:1', 'n:3', 'n:4', 'n:5'], 'boot 2 evicted, not the current boot 1');
  t.same([...boots.evicted], ['n:2']);
  boots.window(2, 20);
  t.same([...boots.evicted], ['n:3'], 'taken back: not deleted; boot 3 goes instead');
  t.equal(boots.setCurrent(undefined, 30), true, 'a hello without boot');
  t.equal(boots.window(undefined, 31).key, null);
});
