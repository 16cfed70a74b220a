/**
 * <history-chart>: one metric over time with uPlot: the average as a line
 * and the min/max of each bucket as a band around it. Time in ms, the x
 * scale pinned to the range (so a live range visibly slides), a break in the
 * line where readings stopped. The canvas gets a text alternative (range,
 * min, average, max) for screen readers. Colours come from the theme's
 * custom properties and follow light/dark changes.
 */
import { LitElement, css, html, unsafeCSS, type PropertyValues } from 'lit';
import { customElement, property, query } from 'lit/decorators.js';
import uPlot from 'uplot';
import uPlotCss from 'uplot/dist/uPlot.min.css?inline';
import { chartColumns, seriesSummary, type SeriesBuffer } from '../data/history.js';
import { THEME_CHANGE_EVENT } from '../data/theme.js';
import { formatValue } from '../format.js';
import { baseStyles } from './shared-styles.js';

const HEIGHT = 190;

function cssVar(element: Element, name: string, fallback: string): string {
  return getComputedStyle(element).getPropertyValue(name).trim() || fallback;
}

/** `#2563eb` or `rgb(...)` with an alpha, for the band's fill. */
function withAlpha(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{6})$/i.exec(color);
  if (hex) {
    const n = parseInt(hex[1] as string, 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }
  return color;
}

@customElement('history-chart')
export class HistoryChart extends LitElement {
  static override styles = [
    baseStyles,
    unsafeCSS(uPlotCss),
    css`
      :host {
        display: block;
        position: relative;
        min-width: 0;
      }
      .plot {
        min-height: ${HEIGHT}px;
      }
      .uplot {
        font-family: inherit;
      }
      .u-legend {
        font-size: 0.78rem;
        color: var(--hub-text-muted, #57606a);
      }
      .u-legend .u-marker {
        width: 0.7em;
        height: 0.7em;
      }
      .empty {
        position: absolute;
        inset: 0 0 2rem 0;
        display: grid;
        place-items: center;
        color: var(--hub-text-muted, #57606a);
        font-size: 0.9rem;
        pointer-events: none;
      }
    `,
  ];

  @property({ attribute: false }) series: SeriesBuffer | null = null;
  @property({ type: Number }) bucketMs = 0;
  @property({ type: Number }) from = 0;
  @property({ type: Number }) to = 0;
  @property() unit: string | undefined;
  /** On/off metrics: drawn as steps between 0 and 1. */
  @property({ type: Boolean }) boolean = false;
  /** What the chart shows, for its text alternative (`power over the last 1 h`). */
  @property() label = '';

  @query('.plot') private container!: HTMLDivElement;
  private plot: uPlot | null = null;
  private resizeObserver: ResizeObserver | null = null;
  private readonly darkQuery = window.matchMedia('(prefers-color-scheme: dark)');

  override connectedCallback(): void {
    super.connectedCallback();
    this.darkQuery.addEventListener('change', this.rebuild);
    document.addEventListener(THEME_CHANGE_EVENT, this.rebuild);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.darkQuery.removeEventListener('change', this.rebuild);
    document.removeEventListener(THEME_CHANGE_EVENT, this.rebuild);
    this.resizeObserver?.disconnect();
    this.resizeObserver = null;
    this.plot?.destroy();
    this.plot = null;
  }

  override render() {
    const summary = this.series ? seriesSummary(this.series) : null;
    const text = summary
      ? `${this.label}: ${summary.count} readings, min ${this.format(summary.min)}, average ${this.format(summary.avg)}, max ${this.format(summary.max)}`
      : `${this.label}: no readings in this range`;
    return html`
      <div class="plot" role="img" aria-label=${text}></div>
      ${summary ? '' : html`<div class="empty">No readings in this range</div>`}
    `;
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (!this.container.isConnected) return;
    if (!this.plot) {
      this.create();
      return;
    }
    if (changed.has('boolean') || changed.has('unit')) {
      this.rebuild();
      return;
    }
    if (changed.has('series') || changed.has('bucketMs') || changed.has('from') || changed.has('to')) {
      this.plot.batch(() => {
        this.plot?.setData(this.columns(), false);
        this.plot?.setScale('x', { min: this.from, max: this.to });
      });
    }
  }

  private format(value: number): string {
    return this.boolean ? `${Math.round(value * 100)} % on` : formatValue(value, this.unit);
  }

  private columns(): uPlot.AlignedData {
    return (this.series ? chartColumns(this.series, this.bucketMs) : [[], [], [], []]) as uPlot.AlignedData;
  }

  private readonly rebuild = (): void => {
    this.plot?.destroy();
    this.plot = null;
    if (this.isConnected) this.create();
  };

  private create(): void {
    const accent = cssVar(this, '--hub-accent', '#2563eb');
    const muted = cssVar(this, '--hub-text-muted', '#57606a');
    const grid = cssVar(this, '--hub-border', '#d0d7de');
    const axis: uPlot.Axis = { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const steps = this.boolean ? uPlot.paths.stepped?.({ align: 1 }) : undefined;
    const valueFormat = (_self: uPlot, value: number | null) => (value === null ? '—' : this.format(value));
    const width = Math.max(200, this.container.clientWidth || this.clientWidth || 600);
    const options: uPlot.Options = {
      width,
      height: HEIGHT,
      ms: 1,
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true, min: this.from, max: this.to }, y: this.boolean ? { range: [0, 1] } : { auto: true } },
      axes: [
        axis,
        this.boolean
          ? { ...axis, size: 44, splits: [0, 1], values: (_self, ticks) => ticks.map((tick) => (tick === 1 ? 'on' : 'off')) }
          : { ...axis, size: 56 },
      ],
      series: [
        {},
        { label: 'avg', stroke: accent, width: 1.75, value: valueFormat, ...(steps ? { paths: steps } : {}) },
        { label: 'min', stroke: withAlpha(accent, 0.35), width: 1, value: valueFormat, ...(steps ? { paths: steps } : {}) },
        { label: 'max', stroke: withAlpha(accent, 0.35), width: 1, value: valueFormat, ...(steps ? { paths: steps } : {}) },
      ],
      bands: [{ series: [3, 2], fill: withAlpha(accent, 0.14) }],
    };
    this.plot = new uPlot(options, this.columns(), this.container);
    if (!this.resizeObserver) {
      this.resizeObserver = new ResizeObserver(() => {
        const w = this.container.clientWidth;
        if (this.plot && w > 0 && Math.abs(w - this.plot.width) > 1) this.plot.setSize({ width: w, height: HEIGHT });
      });
      this.resizeObserver.observe(this.container);
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'history-chart': HistoryChart;
  }
}
