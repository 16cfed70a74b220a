/**
 * Which rows of a long list to render: the ones in the viewport plus some
 * overscan, with the height of the rows left out above and below as
 * padding, so the page scrolls as if every row were there. Rows vary in
 * height, so the row height is a running estimate from rows measured on
 * screen. Pure: the list element passes in what it measured.
 */

export interface VirtualWindow {
  /** First rendered row (inclusive) and the row after the last one. */
  start: number;
  end: number;
  /** Padding standing in for the rows not rendered above and below, px. */
  before: number;
  after: number;
}

export interface WindowInput {
  count: number;
  /** Estimated height of one row, px (> 0). */
  rowHeight: number;
  /** How far the top of the list is above the top of the viewport, px (negative while it is below). */
  scrolledPast: number;
  viewportHeight: number;
  /** Rows rendered beyond each edge of the viewport, so fast scrolling and Tab find rows there. */
  overscan: number;
}

export function visibleWindow({ count, rowHeight, scrolledPast, viewportHeight, overscan }: WindowInput): VirtualWindow {
  const height = Math.max(1, rowHeight);
  const first = Math.floor(Math.max(0, scrolledPast) / height);
  const last = Math.ceil(Math.max(0, scrolledPast + viewportHeight) / height);
  let start = Math.min(count, Math.max(0, first - overscan));
  let end = Math.min(count, Math.max(start, last + overscan));
  // Scrolled past the estimate's end (rows shorter than estimated): show the last screenful, not nothing.
  if (start >= end && count > 0) {
    end = count;
    start = Math.max(0, count - Math.ceil(viewportHeight / height) - overscan);
  }
  return { start, end, before: start * height, after: (count - end) * height };
}

export function sameWindow(a: VirtualWindow, b: VirtualWindow): boolean {
  return a.start === b.start && a.end === b.end && a.before === b.before && a.after === b.after;
}

/** The running row height: moves towards what was measured, so one odd row does not make the page jump. */
export function nextRowHeight(current: number, measuredTotal: number, measuredRows: number): number {
  if (measuredRows <= 0 || measuredTotal <= 0) return current;
  const measured = measuredTotal / measuredRows;
  return Math.round((current * 0.5 + measured * 0.5) * 10) / 10;
}
