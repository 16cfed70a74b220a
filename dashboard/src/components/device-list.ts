/**
 * <device-list>: every device with presence, alerts, latest values and a
 * sparkline of the last five minutes; searchable by id, name or kind and
 * filterable by presence, kind, room (set, else derived from the name: data/overview)
 * and "has alerts". Rows are keyed by device id;
 * the store replaces a DeviceView only when that device changed. A device's
 * name links to its page; a click anywhere else on the row opens it too.
 *
 * Large fleets: above VIRTUALIZE_ABOVE rows only those near the viewport are
 * rendered (data/virtual-window.ts), with padding for the rest, so a frame
 * of telemetry re-renders a screenful, not ten thousand rows; and the sort
 * by name is redone only when devices come, go or are renamed.
 *
 * It fires `rows-shown` with the ids of the rows it renders, so the host
 * can fetch their sparklines' recent history.
 */
import type { DeviceView, MetricValue, PresenceStatus } from '@iot-hub/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { styleMap } from 'lit/directives/style-map.js';
import { deviceAlerts, facets, matchesFilter, roomOf, sparkMetric, sparkPath, type OverviewFilter, type SparkBuffers } from '../data/overview.js';
import { deviceHref } from '../data/router.js';
import { nextRowHeight, sameWindow, visibleWindow, type VirtualWindow } from '../data/virtual-window.js';
import { formatMetric, formatRelativeTime, presenceDetail, presenceLabel } from '../format.js';
import { badgeStyles, baseStyles } from './shared-styles.js';

export type PresenceFilter = 'all' | PresenceStatus;
const FILTERS: readonly PresenceFilter[] = ['all', 'online', 'offline', 'unknown'];

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** Above this many rows the list renders only those near the viewport. */
export const VIRTUALIZE_ABOVE = 200;
/** Rows rendered beyond each edge of the viewport. */
const OVERSCAN = 12;

/** Declared metrics in the device's order, then any undeclared ones by name. */
function orderedMetrics(device: DeviceView): Array<[string, MetricValue, number]> {
  const declared = Object.keys(device.capabilities?.metrics ?? {});
  const seen = new Set(declared);
  const extra = Object.keys(device.latest)
    .filter((name) => !seen.has(name))
    .sort(collator.compare);
  const rows: Array<[string, MetricValue, number]> = [];
  for (const name of [...declared, ...extra]) {
    const latest = Object.hasOwn(device.latest, name) ? device.latest[name] : undefined;
    if (latest) rows.push([name, latest.value, latest.ts]);
  }
  return rows;
}

export { matchesQuery } from '../data/overview.js';

export interface RowsShownDetail {
  ids: string[];
}

const SPARK_WIDTH = 120;
const SPARK_HEIGHT = 28;

@customElement('device-list')
export class DeviceList extends LitElement {
  static override styles = [
    baseStyles,
    badgeStyles,
    css`
      :host {
        display: block;
      }
      .toolbar {
        display: flex;
        flex-wrap: wrap;
        gap: 0.75rem;
        align-items: center;
        margin-bottom: 0.75rem;
      }
      input[type='search'] {
        flex: 1 1 16rem;
        font: inherit;
        color: inherit;
        padding: 0.45rem 0.7rem;
        background: var(--hub-surface, #fff);
        border: 1px solid var(--hub-border, #d0d7de);
        border-radius: var(--hub-radius-sm, 6px);
      }
      .filters {
        display: inline-flex;
        border: 1px solid var(--hub-border, #d0d7de);
        border-radius: var(--hub-radius-sm, 6px);
        overflow: hidden;
      }
      .filters button {
        border: 0;
        border-radius: 0;
        border-left: 1px solid var(--hub-border, #d0d7de);
        font-size: 0.875rem;
      }
      .filters button:first-child {
        border-left: 0;
      }
      .filters button[aria-pressed='true'] {
        background: var(--hub-accent, #2563eb);
        color: var(--hub-on-accent, #fff);
      }
      .table {
        background: var(--hub-surface, #fff);
        border: 1px solid var(--hub-border, #d0d7de);
        border-radius: var(--hub-radius, 10px);
        overflow: hidden;
      }
      .row {
        display: grid;
        grid-template-columns: minmax(10rem, 2fr) minmax(6rem, 1fr) minmax(12rem, 2fr) minmax(12rem, 3fr) 8rem;
        gap: 0.5rem 1rem;
        align-items: start;
        padding: 0.7rem 1rem;
        border-top: 1px solid var(--hub-border, #d0d7de);
      }
      .head {
        border-top: 0;
        font-size: 0.75rem;
        font-weight: 600;
        letter-spacing: 0.04em;
        text-transform: uppercase;
        color: var(--hub-text-muted, #57606a);
        background: var(--hub-surface-2, #f6f8fa);
        padding-block: 0.45rem;
      }
      ul.rows {
        list-style: none;
        margin: 0;
        padding: 0;
      }
      .name {
        font-weight: 600;
        overflow-wrap: anywhere;
        color: inherit;
        text-decoration: none;
      }
      a.name:hover {
        color: var(--hub-accent, #2563eb);
        text-decoration: underline;
      }
      li.row {
        cursor: pointer;
      }
      li.row:hover {
        background: var(--hub-surface-hover, #f3f4f6);
      }
      .id,
      .detail,
      .kind,
      .muted {
        color: var(--hub-text-muted, #57606a);
        font-size: 0.85rem;
      }
      .id {
        display: block;
        font-family: var(--hub-mono, ui-monospace, monospace);
        overflow-wrap: anywhere;
      }
      .presence {
        display: grid;
        gap: 0.25rem;
        justify-items: start;
      }
      .values {
        display: flex;
        flex-wrap: wrap;
        gap: 0.35rem;
        margin: 0;
        padding: 0;
        list-style: none;
      }
      .values li {
        display: inline-flex;
        gap: 0.4em;
        align-items: baseline;
        padding: 0.1rem 0.5rem;
        border-radius: var(--hub-radius-sm, 6px);
        background: var(--hub-surface-2, #f6f8fa);
        font-size: 0.875rem;
      }
      .metric {
        color: var(--hub-text-muted, #57606a);
      }
      .value {
        font-weight: 600;
        font-variant-numeric: tabular-nums;
      }
      select {
        font: inherit;
        font-size: 0.875rem;
        color: inherit;
        padding: 0.4rem 0.5rem;
        background: var(--hub-surface, #fff);
        border: 1px solid var(--hub-border, #d0d7de);
        border-radius: var(--hub-radius-sm, 6px);
      }
      label.check {
        display: inline-flex;
        gap: 0.35rem;
        align-items: center;
        font-size: 0.875rem;
      }
      .alert {
        color: var(--hub-offline, #cf222e);
        font-size: 0.8rem;
        font-weight: 600;
      }
      svg.spark {
        display: block;
        color: var(--hub-accent, #2563eb);
      }
      .empty {
        padding: 2.5rem 1rem;
        text-align: center;
        color: var(--hub-text-muted, #57606a);
        line-height: 1.5;
      }
      .empty strong {
        display: block;
        color: var(--hub-text, #1b1f24);
        font-size: 1.05rem;
        margin-bottom: 0.25rem;
      }
      @media (max-width: 760px) {
        .head {
          display: none;
        }
        .row {
          grid-template-columns: minmax(0, 1fr);
          gap: 0.35rem;
        }
        .ident {
          display: flex;
          flex-wrap: wrap;
          align-items: baseline;
          gap: 0 0.5rem;
        }
        .presence {
          display: flex;
          flex-wrap: wrap;
          align-items: center;
          gap: 0.25rem 0.5rem;
        }
      }
    `,
  ];

  @property({ attribute: false }) devices: ReadonlyMap<string, DeviceView> = new Map();
  /** Epoch ms used for relative times; the host ticks it. */
  @property({ attribute: false }) now = Date.now();
  /** True until the first snapshot arrived. */
  @property({ type: Boolean }) loading = false;

  /** Sparkline points per device; `sparkVersion` changes when they do. */
  @property({ attribute: false }) sparks: SparkBuffers | null = null;
  @property({ type: Number }) sparkVersion = 0;

  @state() private query = '';
  @state() private filter: PresenceFilter = 'all';
  @state() private kind = '';
  @state() private room = '';
  @state() private alertsOnly = false;
  private kinds: string[] = [];
  private rooms: string[] = [];
  /** The ids last announced in `rows-shown`. */
  private shownKey = '';

  /** The rendered slice of a long list; null while every row is rendered. */
  @state() private window: VirtualWindow | null = null;

  private visible: DeviceView[] = [];
  /** Ids sorted by name, and the names they were sorted by. */
  private order: string[] = [];
  private orderNames = new Map<string, string>();
  /** Each device's room when the facets were taken: a room set on the device page changes them. */
  private orderRooms = new Map<string, string | null>();
  /** Running estimate of a row's height, px. */
  private rowHeight = 64;
  private scrollFrame = 0;

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('scroll', this.onViewportChange, { passive: true });
    window.addEventListener('resize', this.onViewportChange, { passive: true });
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('scroll', this.onViewportChange);
    window.removeEventListener('resize', this.onViewportChange);
    cancelAnimationFrame(this.scrollFrame);
    this.scrollFrame = 0;
  }

  override willUpdate(changed: Map<PropertyKey, unknown>): void {
    if (['devices', 'query', 'filter', 'kind', 'room', 'alertsOnly'].some((key) => changed.has(key))) {
      const filter: OverviewFilter = { query: this.query, presence: this.filter, kind: this.kind, room: this.room, alertsOnly: this.alertsOnly };
      const sorted = this.sortedDevices();
      this.visible = sorted.filter((device) => matchesFilter(device, filter));
      this.window = this.computeWindow();
    }
  }

  /** Tells the host which rows are on screen when that changes. */
  private announceRows(): void {
    const slice = this.window;
    const rows = slice ? this.visible.slice(slice.start, slice.end) : this.visible.slice(0, 100);
    const ids = rows.map((device) => device.id);
    const key = ids.join('\n');
    if (key === this.shownKey) return;
    this.shownKey = key;
    this.dispatchEvent(new CustomEvent<RowsShownDetail>('rows-shown', { detail: { ids }, bubbles: true, composed: true }));
  }

  override updated(changed: Map<PropertyKey, unknown>): void {
    this.announceRows();
    if (!changed.has('window') || this.window === null) return;
    // Learn the row height from the rows on screen; a better estimate may move the window.
    const rows = this.renderRoot.querySelectorAll<HTMLElement>('li.row');
    let total = 0;
    for (const row of rows) total += row.getBoundingClientRect().height;
    this.rowHeight = nextRowHeight(this.rowHeight, total, rows.length);
    this.onViewportChange();
  }

  /** Every device sorted by name; sorted again only when devices come, go, are renamed or change room. */
  private sortedDevices(): DeviceView[] {
    let stale = this.order.length !== this.devices.size;
    if (!stale) {
      for (const [id, device] of this.devices) {
        if (this.orderNames.get(id) !== device.name || this.orderRooms.get(id) !== device.room) {
          stale = true;
          break;
        }
      }
    }
    if (stale) {
      const sorted = [...this.devices.values()].sort((a, b) => collator.compare(a.name || a.id, b.name || b.id) || collator.compare(a.id, b.id));
      this.order = sorted.map((device) => device.id);
      this.orderNames = new Map(sorted.map((device) => [device.id, device.name]));
      this.orderRooms = new Map(sorted.map((device) => [device.id, device.room]));
      // Kinds and rooms change only when devices come, go, are renamed or moved to another room.
      ({ kinds: this.kinds, rooms: this.rooms } = facets(sorted));
      return sorted;
    }
    return this.order.map((id) => this.devices.get(id) as DeviceView);
  }

  private computeWindow(): VirtualWindow | null {
    if (this.visible.length <= VIRTUALIZE_ABOVE) return null;
    const list = this.renderRoot?.querySelector('ul.rows');
    const top = list ? list.getBoundingClientRect().top : 0;
    return visibleWindow({ count: this.visible.length, rowHeight: this.rowHeight, scrolledPast: -top, viewportHeight: window.innerHeight, overscan: OVERSCAN });
  }

  /** Scrolling or resizing: at the next frame, render the rows that are now near the viewport. */
  private readonly onViewportChange = (): void => {
    if (this.scrollFrame !== 0 || this.window === null) return;
    this.scrollFrame = requestAnimationFrame(() => {
      this.scrollFrame = 0;
      const next = this.computeWindow();
      if (next === null || this.window === null || !sameWindow(next, this.window)) this.window = next;
    });
  };

  override render() {
    return html`
      <div class="toolbar" role="search">
        <label class="visually-hidden" for="search">Search devices</label>
        <input
          id="search"
          type="search"
          placeholder="Search by name, id or kind"
          autocomplete="off"
          .value=${this.query}
          @input=${(event: Event) => (this.query = (event.target as HTMLInputElement).value)}
        />
        <div class="filters" role="group" aria-label="Filter by presence">
          ${FILTERS.map(
            (filter) => html`<button
              type="button"
              aria-pressed=${this.filter === filter ? 'true' : 'false'}
              @click=${() => (this.filter = filter)}
            >
              ${filter === 'all' ? 'All' : presenceLabel(filter)}
            </button>`,
          )}
        </div>
        <label class="visually-hidden" for="kind">Kind</label>
        <select id="kind" @change=${(event: Event) => (this.kind = (event.target as HTMLSelectElement).value)}>
          <option value="" ?selected=${this.kind === ''}>All kinds</option>
          ${this.kinds.map((kind) => html`<option value=${kind} ?selected=${this.kind === kind}>${kind}</option>`)}
        </select>
        <label class="visually-hidden" for="room">Room</label>
        <select id="room" @change=${(event: Event) => (this.room = (event.target as HTMLSelectElement).value)}>
          <option value="" ?selected=${this.room === ''}>All rooms</option>
          ${this.rooms.map((room) => html`<option value=${room} ?selected=${this.room === room}>${room}</option>`)}
        </select>
        <label class="check">
          <input type="checkbox" .checked=${this.alertsOnly} @change=${(event: Event) => (this.alertsOnly = (event.target as HTMLInputElement).checked)} />
          Has alerts
        </label>
      </div>
      <div class="table">
        <div class="row head" aria-hidden="true">
          <span>Device</span><span>Kind</span><span>Presence</span><span>Latest values</span><span>Last 5 min</span>
        </div>
        ${this.renderBody()}
      </div>
    `;
  }

  private renderBody() {
    if (this.loading && this.devices.size === 0) {
      return html`<div class="empty" role="status">Loading devices…</div>`;
    }
    if (this.devices.size === 0) {
      return html`<div class="empty" role="status">
        No devices yet: provision one with <code>POST /api/devices</code> or run the simulator.
      </div>`;
    }
    if (this.visible.length === 0) {
      return html`<div class="empty" role="status">
        <strong>No matching devices</strong>
        Nothing matches the search and filter.
        <button type="button" @click=${this.clearFilters}>Show all devices</button>
      </div>`;
    }
    const slice = this.window;
    const rows = slice ? this.visible.slice(slice.start, slice.end) : this.visible;
    const padding = slice ? { paddingTop: `${slice.before}px`, paddingBottom: `${slice.after}px` } : {};
    return html`<ul class="rows" aria-label="Devices (${this.visible.length} of ${this.devices.size})" style=${styleMap(padding)}>
      ${repeat(rows, (device) => device.id, (device, i) => this.renderRow(device, slice ? slice.start + i + 1 : null))}
    </ul>`;
  }

  /** `position` (1-based) tells screen readers where a row of a virtualized list is. */
  private renderRow(device: DeviceView, position: number | null) {
    const { status } = device.presence;
    const metrics = orderedMetrics(device);
    const label = device.name || device.id;
    const alerts = deviceAlerts(device);
    const room = roomOf(device);
    return html`<li
      class="row"
      data-device-id=${device.id}
      aria-label=${`${label}, ${presenceLabel(status)}`}
      aria-posinset=${position ?? nothing}
      aria-setsize=${position === null ? nothing : this.visible.length}
      @click=${this.openRow}
    >
      <div class="ident">
        <a class="name" href=${deviceHref(device.id)}>${label}</a>
        ${device.name && device.name !== device.id ? html`<span class="id">${device.id}</span>` : nothing}
      </div>
      <div class="kind">
        <span class="visually-hidden">Kind: </span>${device.kind}${room === null ? nothing : html`<br /><span class="visually-hidden">Room: </span>${room}`}
      </div>
      <div class="presence">
        <span class="badge ${status}" data-presence=${status}>${presenceLabel(status)}</span>
        <span class="detail">${presenceDetail(device.presence, device.lastSeen, this.now)}</span>
        ${alerts.length === 0 ? nothing : html`<span class="alert" data-alerts>⚠ ${alerts.join(', ')}</span>`}
      </div>
      ${metrics.length === 0
        ? html`<div class="values muted">No readings yet</div>`
        : html`<ul class="values" aria-label="Latest values">
            ${metrics.map(
              ([name, value, ts]) =>
                html`<li title=${`${name} · ${formatRelativeTime(ts, this.now)}`}>
                  <span class="metric">${name}</span>
                  <span class="value" data-metric=${name}>${formatMetric(device.capabilities, name, value)}</span>
                </li>`,
            )}
          </ul>`}
      ${this.renderSpark(device)}
    </li>`;
  }

  private renderSpark(device: DeviceView) {
    const metric = sparkMetric(device);
    const points = metric === null || this.sparks === null ? [] : this.sparks.points(device.id, this.now);
    if (metric === null || points.length < 2) return html`<div class="spark muted" aria-hidden="true"></div>`;
    const unit = device.capabilities?.metrics?.[metric]?.unit;
    return html`<svg
      class="spark"
      data-spark=${metric}
      width=${SPARK_WIDTH}
      height=${SPARK_HEIGHT}
      viewBox="0 0 ${SPARK_WIDTH} ${SPARK_HEIGHT}"
      role="img"
      aria-label=${`${metric}${unit ? ` (${unit})` : ''}, last 5 minutes: ${points.length} points`}
    >
      <polyline fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round" points=${sparkPath(points, this.now, SPARK_WIDTH, SPARK_HEIGHT)} />
    </svg>`;
  }

  /** A click on the row outside its link opens the device, unless the user was selecting text. */
  private readonly openRow = (event: MouseEvent): void => {
    const row = event.currentTarget as HTMLElement;
    if ((event.target as Element).closest('a, button, input')) return;
    if (window.getSelection()?.toString()) return;
    const id = row.dataset.deviceId;
    if (id !== undefined) window.location.hash = deviceHref(id);
  };

  private clearFilters(): void {
    this.query = '';
    this.filter = 'all';
    this.kind = '';
    this.room = '';
    this.alertsOnly = false;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'device-list': DeviceList;
  }
}
