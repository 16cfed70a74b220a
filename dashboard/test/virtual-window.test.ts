import t from 'tap';
import { nextRowHeight, sameWindow, visibleWindow } from '../src/data/virtual-window.js';

const base = { count: 10_000, rowHeight: 50, viewportHeight: 800, overscan: 10 };

t.test('at the top: the first screenful and the overscan below it', async (t) => {
  const w = visibleWindow({ ...base, scrolledPast: -300 });
  t.strictSame(w, { start: 0, end: 20, before: 0, after: (10_000 - 20) * 50 }, 'the list starts 300 px down the page: 10 rows show, 10 more overscan');
});

t.test('in the middle: rows around the viewport, the rest as padding', async (t) => {
  const w = visibleWindow({ ...base, scrolledPast: 100_000 });
  t.equal(w.start, 2000 - 10);
  t.equal(w.end, 2016 + 10);
  t.equal(w.before, w.start * 50);
  t.equal(w.before + (w.end - w.start) * 50 + w.after, 10_000 * 50, 'the padding keeps the full height');
});

t.test('at the end, and past the estimate', async (t) => {
  const end = visibleWindow({ ...base, scrolledPast: 10_000 * 50 - 800 });
  t.equal(end.end, 10_000);
  t.equal(end.after, 0);
  const past = visibleWindow({ ...base, scrolledPast: 10_000 * 60 });
  t.equal(past.end, 10_000, 'rows shorter than estimated: the last screenful, never nothing');
  t.ok(past.start < past.end);
});

t.test('short and empty lists', async (t) => {
  t.strictSame(visibleWindow({ ...base, count: 5, scrolledPast: 0 }), { start: 0, end: 5, before: 0, after: 0 });
  t.strictSame(visibleWindow({ ...base, count: 0, scrolledPast: 0 }), { start: 0, end: 0, before: 0, after: 0 });
});

t.test('the row height estimate follows measurements halfway', async (t) => {
  t.equal(nextRowHeight(50, 700, 10), 60);
  t.equal(nextRowHeight(50, 0, 0), 50, 'nothing measured: unchanged');
  t.ok(sameWindow(visibleWindow({ ...base, scrolledPast: 10 }), visibleWindow({ ...base, scrolledPast: 20 })), 'a scroll within a row changes nothing to render');
});
