/**
 * <device-list>: every device with presence, alerts, latest values and a
 * sparkline of the last five minutes, in the order and with the search and
 * filters of its `view` (data/list-view.ts; the toolbar fires `view-change`,
 * the page keeps the view in the URL). A row that needs a look (offline,
 * unknown, quiet past its heartbeat) carries a coloured edge and says why;
 * while the hub is unreachable (`stale`) every row is marked as last known.
 * Rows are keyed by device id;
 * the store replaces a DeviceView only when that device changed. A device's
 * name links to its page; a click anywhere else on the row opens it too.
 *
 * Large fleets: above VIRTUALIZE_ABOVE rows only those near the viewport are
 * rendered (data/virtual-window.ts), with padding for the rest, so a frame
 * of telemetry re-renders a screenful, not ten thousand rows; and a sort by
 * name or kind is redone only when devices come, go or are renamed.
 *
 * It fires `rows-shown` with the ids of the rows it renders, so the host
 * can fetch their sparklines' recent history.
 */
import type { DeviceView, MetricValue } from '@iot-hub/protocol';
import { LitElement, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { styleMap } from 'lit/directives/style-map.js';
import type { DeviceAlertSummary } from '../data/alert-store.js';
import { DEFAULT_VIEW, rowSignal, sortDevices, SORTS, type ListView } from '../data/list-view.js';
import { deviceAlerts, facets, matchesFilter, roomOf, sparkMetric, sparkPath, type SparkBuffers } from '../data/overview.js';
import { deviceHref } from '../data/router.js';
import { nextRowHeight, sameWindow, visibleWindow, type VirtualWindow } from '../data/virtual-window.js';
import { formatMetric, formatRelativeTime, listPresenceDetail, presenceLabel } from '../format.js';
import { bellIcon, severityStyles } from './alert-styles.js';
import { deviceListStyles } from './device-list-styles.js';
import { badgeStyles, baseStyles } from './shared-styles.js';
import './device-list-toolbar.js';

/** Beside an online badge: the device has been silent for longer than the heartbeat it declared. */
const QUIET_TEXT = 'quiet: past its heartbeat';

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

/** What a name or kind order and the kind and room facets depend on: a change in it redoes them. */
function orderKey(device: DeviceView): string {
  return `${device.name}\n${device.kind}\n${device.room ?? ''}`;
}

@customElement('device-list')
export class DeviceList extends LitElement {
  static override styles = [baseStyles, badgeStyles, severityStyles, deviceListStyles];

  @property({ attribute: false }) devices: ReadonlyMap<string, DeviceView> = new Map();
  /** Epoch ms used for relative times; the host ticks it. */
  @property({ attribute: false }) now = Date.now();
  /** True until the first snapshot arrived. */
  @property({ type: Boolean }) loading = false;

  /** Sparkline points per device; `sparkVersion` changes when they do. */
  @property({ attribute: false }) sparks: SparkBuffers | null = null;
  @property({ type: Number }) sparkVersion = 0;

  /** Search, filters and sort; the toolbar asks for changes with `view-change`. */
  @property({ attribute: false }) view: ListView = DEFAULT_VIEW;
  /** The hub is unreachable: every row shows its last known state, marked so. */
  @property({ type: Boolean }) stale = false;
  /** Open alerts per device (AlertStore.byDevice): the row's alert state and the `alerts` sort. */
  @property({ attribute: false }) alertStates: ReadonlyMap<string, DeviceAlertSummary> = new Map();
  private kinds: string[] = [];
  private rooms: string[] = [];
  /** The ids last announced in `rows-shown`. */
  private shownKey = '';

  /** The rendered slice of a long list; null while every row is rendered. */
  @state() private window: VirtualWindow | null = null;

  private visible: DeviceView[] = [];
  /** Ids in the order of `orderSort`, and the names and kinds they were sorted by. */
  private order: string[] = [];
  private orderSort = '';
  private orderKeys = new Map<string, string>();
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
    if (changed.has('devices') || changed.has('view') || (changed.has('alertStates') && this.view.sort === 'alerts')) {
      const sorted = this.sortedDevices();
      this.visible = sorted.filter((device) => matchesFilter(device, this.view));
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

  /**
   * Every device in the view's order. A name or kind order changes only when
   * devices come, go or are renamed, so it is kept until then; an order by
   * live data (presence, last seen, battery) is redone with the data.
   */
  private sortedDevices(): DeviceView[] {
    const { sort, desc } = this.view;
    const sortId = `${sort}:${desc}`;
    let stale = SORTS[sort].live || sortId !== this.orderSort || this.order.length !== this.devices.size;
    if (!stale) {
      for (const [id, device] of this.devices) {
        if (this.orderKeys.get(id) !== orderKey(device)) {
          stale = true;
          break;
        }
      }
    }
    if (stale) {
      const sorted = sortDevices(this.devices.values(), sort, desc, { alerts: this.alertStates });
      this.order = sorted.map((device) => device.id);
      this.orderSort = sortId;
      const keys = new Map(sorted.map((device) => [device.id, orderKey(device)]));
      // Kinds and rooms change only when devices come, go, are renamed or moved to another room.
      if (keys.size !== this.orderKeys.size || [...keys].some(([id, key]) => this.orderKeys.get(id) !== key)) {
        ({ kinds: this.kinds, rooms: this.rooms } = facets(sorted));
      }
      this.orderKeys = keys;
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
      <device-list-toolbar .view=${this.view} .kinds=${this.kinds} .rooms=${this.rooms}></device-list-toolbar>
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
    const signal = rowSignal(device, this.now);
    const presence = `${presenceLabel(status)}${this.stale ? ' (last known)' : ''}`;
    return html`<li
      class="row ${this.stale ? 'stale' : ''}"
      data-device-id=${device.id}
      data-signal=${signal ?? nothing}
      ?data-stale=${this.stale}
      aria-label=${`${label}, ${presence}${signal === 'quiet' ? `, ${QUIET_TEXT}` : ''}`}
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
        <span class="badge ${this.stale ? 'stale' : signal === 'quiet' ? 'quiet' : status}" data-presence=${status}>${presence}</span>
        ${signal === 'quiet' ? html`<span class="signal" data-signal-text>${QUIET_TEXT}</span>` : nothing}
        <span class="detail">${listPresenceDetail(device.presence, device.lastSeen, this.now)}</span>
        ${alerts.length === 0 ? nothing : html`<span class="alert" data-alerts>⚠ ${alerts.join(', ')}</span>`}
        ${this.renderAlertState(device.id)}
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

  /** The device's open rule alerts: a pill coloured by the worst severity, saying how many fire and wait. */
  private renderAlertState(deviceId: string) {
    const summary = this.alertStates.get(deviceId);
    if (summary === undefined) return nothing;
    const words = [summary.firing > 0 ? `${summary.firing} firing` : '', summary.pending > 0 ? `${summary.pending} pending` : ''].filter((w) => w !== '').join(', ');
    return html`<a
      class="sev ${summary.firing > 0 ? summary.worst : 'none'}"
      href=${`${deviceHref(deviceId)}`}
      data-alert-state=${summary.firing > 0 ? 'firing' : 'pending'}
      data-alert-count=${summary.firing + summary.pending}
      title=${`Alerts: ${words}`}
      >${bellIcon} ${words}</a
    >`;
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
    // The sort stays: it hides nothing.
    const detail: ListView = { ...DEFAULT_VIEW, sort: this.view.sort, desc: this.view.desc };
    this.dispatchEvent(new CustomEvent<ListView>('view-change', { detail, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'device-list': DeviceList;
  }
}
