/**
 * <live-values>: a device's latest value of each metric, in the order it
 * declared them, with units, age and the metric's description. Updated live
 * through the device store; marked as last known while the hub is unreachable.
 */
import type { DeviceView, MetricValue } from '@iot-hub/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { formatMetric, formatRelativeTime } from '../format.js';
import { baseStyles, panelStyles } from './shared-styles.js';

interface ValueRow {
  name: string;
  value: MetricValue | null;
  ts: number | null;
  unit: string | undefined;
  description: string | undefined;
}

/** Declared metrics first (even without a reading yet), then undeclared ones that have readings. */
function rows(device: DeviceView): ValueRow[] {
  const metrics = device.capabilities?.metrics ?? {};
  const names = [...Object.keys(metrics), ...Object.keys(device.latest).filter((name) => !Object.hasOwn(metrics, name)).sort()];
  return names.map((name) => {
    const latest = Object.hasOwn(device.latest, name) ? device.latest[name] : undefined;
    const spec = Object.hasOwn(metrics, name) ? metrics[name] : undefined;
    return { name, value: latest?.value ?? null, ts: latest?.ts ?? null, unit: spec?.unit, description: spec?.description };
  });
}

@customElement('live-values')
export class LiveValues extends LitElement {
  static override styles = [
    baseStyles,
    panelStyles,
    css`
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(9.5rem, 1fr));
        gap: 0.6rem;
      }
      li {
        display: grid;
        gap: 0.15rem;
        padding: 0.6rem 0.75rem;
        border-radius: var(--hub-radius-sm, 6px);
        background: var(--hub-surface-2, #f6f8fa);
        min-width: 0;
      }
      .name {
        font-size: 0.8rem;
        color: var(--hub-text-muted, #57606a);
        overflow-wrap: anywhere;
      }
      .value {
        font-size: 1.35rem;
        font-weight: 650;
        font-variant-numeric: tabular-nums;
        overflow-wrap: anywhere;
      }
      .value.bool-true {
        color: var(--hub-online, #1a7f37);
      }
      .value.none {
        color: var(--hub-text-muted, #57606a);
        font-weight: 400;
      }
      .stale {
        font-weight: 600;
        color: var(--hub-warning, #9a6700);
      }
      :host([stale]) .value {
        color: var(--hub-text-muted, #57606a);
      }
      .time {
        font-size: 0.75rem;
        color: var(--hub-text-muted, #57606a);
      }
    `,
  ];

  @property({ attribute: false }) device: DeviceView | null = null;
  @property({ attribute: false }) now = Date.now();
  /** The hub is unreachable: these are the last known values. */
  @property({ type: Boolean, reflect: true }) stale = false;

  override render() {
    const device = this.device;
    if (!device) return nothing;
    const items = rows(device);
    return html`<section class="panel" aria-labelledby="values-title">
      <div class="panel-head">
        <h3 id="values-title">Live values</h3>
        ${this.stale
          ? html`<span class="hint stale" data-stale>Last known values: the hub is unreachable</span>`
          : device.lastSeen === null
            ? nothing
            : html`<span class="hint">updated ${formatRelativeTime(device.lastSeen, this.now)}</span>`}
      </div>
      ${items.length === 0
        ? html`<div class="empty" role="status">No readings yet: values appear here as soon as the device sends telemetry.</div>`
        : html`<ul aria-label="Latest values">
            ${repeat(
              items,
              (row) => row.name,
              (row) => html`<li title=${row.description ?? row.name} data-metric=${row.name}>
                <span class="name">${row.name}${row.unit ? html` <span aria-hidden="true">(${row.unit})</span>` : nothing}</span>
                ${row.value === null
                  ? html`<span class="value none">no reading</span>`
                  : html`<span class="value ${typeof row.value === 'boolean' ? `bool-${row.value}` : ''}" data-value>${formatMetric(device.capabilities, row.name, row.value)}</span>`}
                ${row.ts === null ? nothing : html`<span class="time">${formatRelativeTime(row.ts, this.now)}</span>`}
              </li>`,
            )}
          </ul>`}
    </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'live-values': LiveValues;
  }
}
