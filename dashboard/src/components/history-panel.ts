/**
 * <history-panel>: the range picker (1 h, 24 h, 7 d, custom) and one chart
 * per metric. Fires `range-change` with `{range}` and `history-retry`; the
 * data (already extended live) comes from the device page.
 */
import type { Capabilities } from '@iot-hub/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import type { HistoryView } from '../data/device-detail.js';
import { RELATIVE_RANGES, type HistoryRange, type RelativeRangeKey } from '../data/history.js';
import { baseStyles, panelStyles } from './shared-styles.js';
import './history-chart.js';

export interface RangeChangeDetail {
  range: HistoryRange;
}

const RANGE_KEYS = Object.keys(RELATIVE_RANGES) as RelativeRangeKey[];

/** `2025-06-15T12:00` in local time, what a datetime-local input holds. */
function toLocalInput(ms: number): string {
  const date = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return date.toISOString().slice(0, 16);
}

function fromLocalInput(value: string): number {
  return value === '' ? NaN : new Date(value).getTime();
}

function rangeText(range: HistoryRange): string {
  if (range.kind === 'relative') return `the last ${RELATIVE_RANGES[range.key].label}`;
  const format = (ms: number) => new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  return `${format(range.from)} to ${format(range.to)}`;
}

@customElement('history-panel')
export class HistoryPanel extends LitElement {
  static override styles = [
    baseStyles,
    panelStyles,
    css`
      .ranges {
        display: inline-flex;
        border: 1px solid var(--hub-border, #d0d7de);
        border-radius: var(--hub-radius-sm, 6px);
        overflow: hidden;
        margin-left: auto;
      }
      .ranges button {
        border: 0;
        border-radius: 0;
        border-left: 1px solid var(--hub-border, #d0d7de);
        font-size: 0.85rem;
        padding: 0.3rem 0.7rem;
      }
      .ranges button:first-child {
        border-left: 0;
      }
      .ranges button[aria-pressed='true'] {
        background: var(--hub-accent, #2563eb);
        color: var(--hub-on-accent, #fff);
      }
      form.custom {
        display: flex;
        flex-wrap: wrap;
        align-items: end;
        gap: 0.5rem 0.75rem;
        margin: 0 0 0.9rem;
        padding: 0.6rem 0.75rem;
        background: var(--hub-surface-2, #f6f8fa);
        border-radius: var(--hub-radius-sm, 6px);
      }
      form.custom label {
        display: grid;
        gap: 0.2rem;
        font-size: 0.8rem;
        color: var(--hub-text-muted, #57606a);
      }
      .charts {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(min(100%, 26rem), 1fr));
        gap: 1rem 1.25rem;
      }
      figure {
        margin: 0;
        min-width: 0;
      }
      figcaption {
        display: flex;
        align-items: baseline;
        gap: 0.5rem;
        margin-bottom: 0.25rem;
        font-weight: 600;
        font-size: 0.9rem;
      }
      figcaption .unit {
        font-weight: 400;
        color: var(--hub-text-muted, #57606a);
      }
      .status-line {
        min-height: 1.2em;
      }
      [aria-busy='true'] .charts {
        opacity: 0.6;
      }
    `,
  ];

  @property({ attribute: false }) history: HistoryView | null = null;
  @property({ attribute: false }) capabilities: Capabilities | null = null;

  @state() private customOpen = false;
  @state() private customError = '';

  override render() {
    const history = this.history;
    if (!history) return nothing;
    const { range, status, data, error } = history;
    const busy = status === 'loading';
    return html`<section class="panel" aria-labelledby="history-title" aria-busy=${busy ? 'true' : 'false'}>
      <div class="panel-head">
        <h3 id="history-title">History</h3>
        <span class="hint">${rangeText(range)}${data && data.bucketMs > 0 ? ` · averages over ${Math.round(data.bucketMs / 1000)} s with min–max band` : ''}</span>
        <div class="ranges" role="group" aria-label="Time range">
          ${RANGE_KEYS.map(
            (key) => html`<button
              type="button"
              aria-pressed=${range.kind === 'relative' && range.key === key ? 'true' : 'false'}
              data-range=${key}
              @click=${() => this.choose({ kind: 'relative', key })}
            >
              ${RELATIVE_RANGES[key].label}
            </button>`,
          )}
          <button
            type="button"
            aria-pressed=${range.kind === 'custom' ? 'true' : 'false'}
            aria-expanded=${this.customOpen ? 'true' : 'false'}
            aria-controls="custom"
            data-range="custom"
            @click=${() => (this.customOpen = !this.customOpen)}
          >
            Custom…
          </button>
        </div>
      </div>
      ${this.customOpen ? this.renderCustom(range) : nothing}
      <div class="status-line" role="status">
        ${status === 'loading' && !data ? html`<span class="muted">Loading history…</span>` : nothing}
        ${status === 'error'
          ? html`<p class="error">
              Could not load the history: ${error}
              <button type="button" @click=${() => this.dispatchEvent(new CustomEvent('history-retry', { bubbles: true, composed: true }))}>Retry</button>
            </p>`
          : nothing}
      </div>
      ${data ? this.renderCharts() : nothing}
    </section>`;
  }

  private renderCustom(range: HistoryRange) {
    const now = Date.now();
    const from = range.kind === 'custom' ? range.from : now - 24 * 3_600_000;
    const to = range.kind === 'custom' ? range.to : now;
    return html`<form id="custom" class="custom" @submit=${this.applyCustom} aria-label="Custom time range">
      <label>From <input name="from" type="datetime-local" required .value=${toLocalInput(from)} /></label>
      <label>To <input name="to" type="datetime-local" required .value=${toLocalInput(to)} /></label>
      <button class="primary" type="submit">Show</button>
      ${this.customError ? html`<span class="error" role="alert">${this.customError}</span>` : nothing}
    </form>`;
  }

  private renderCharts() {
    const data = this.history?.data;
    if (!data) return nothing;
    const declared = this.capabilities?.metrics ?? {};
    const names = [...Object.keys(declared), ...[...data.series.keys()].filter((name) => !Object.hasOwn(declared, name)).sort()];
    if (names.length === 0) {
      return html`<div class="empty">No readings in this range. Charts appear as soon as the device sends telemetry.</div>`;
    }
    const rangeLabel = this.history ? rangeText(this.history.range) : '';
    return html`<div class="charts">
      ${repeat(
        names,
        (name) => name,
        (name) => {
          const spec = Object.hasOwn(declared, name) ? declared[name] : undefined;
          const series = data.series.get(name) ?? null;
          const isBoolean = spec?.type === 'boolean';
          return html`<figure data-chart=${name}>
            <figcaption>${name}${spec?.unit ? html`<span class="unit">${spec.unit}</span>` : nothing}</figcaption>
            <history-chart
              .series=${series}
              .bucketMs=${data.bucketMs}
              .from=${data.from}
              .to=${data.to}
              .unit=${spec?.unit}
              ?boolean=${isBoolean}
              label=${`${name} over ${rangeLabel}`}
            ></history-chart>
          </figure>`;
        },
      )}
    </div>`;
  }

  private choose(range: HistoryRange): void {
    this.customOpen = false;
    this.customError = '';
    this.dispatchEvent(new CustomEvent<RangeChangeDetail>('range-change', { detail: { range }, bubbles: true, composed: true }));
  }

  private applyCustom(event: SubmitEvent): void {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const from = fromLocalInput((form.elements.namedItem('from') as HTMLInputElement).value);
    const to = fromLocalInput((form.elements.namedItem('to') as HTMLInputElement).value);
    if (!Number.isFinite(from) || !Number.isFinite(to)) {
      this.customError = 'Enter both times.';
      return;
    }
    if (from >= to) {
      this.customError = '“From” must be before “To”.';
      return;
    }
    this.choose({ kind: 'custom', from, to });
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'history-panel': HistoryPanel;
  }
}
