/**
 * <device-page>: one device. Its identity and presence, live values,
 * controls from its declared commands, desired vs reported state, history
 * charts, the command timeline and the raw message inspector. The
 * DeviceView comes from the app's device store; everything else from
 * DeviceDetail (and the inspector's feed) over the same live socket.
 */
import type { AlertView, DeviceUpdateRequest, DeviceView } from '@iot-hub/protocol';
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { DeviceDetailController } from '../controllers/device-detail-controller.js';
import type { LiveSession } from '../controllers/live-controller.js';
import { ApiError, updateDevice } from '../data/api.js';
import { formatLastSeen, presenceDetail, presenceLabel } from '../format.js';
import type { CancelCommandDetail } from './command-timeline.js';
import type { SendCommandDetail } from './device-controls.js';
import type { RangeChangeDetail } from './history-panel.js';
import { badgeStyles, baseStyles } from './shared-styles.js';
import type { SetDesiredDetail } from './state-table.js';
import './command-timeline.js';
import './device-alerts.js';
import './device-attributes.js';
import './device-controls.js';
import './history-panel.js';
import './live-values.js';
import './message-inspector.js';
import './state-table.js';

@customElement('device-page')
export class DevicePage extends LitElement {
  static override styles = [
    baseStyles,
    badgeStyles,
    css`
      :host {
        display: block;
      }
      nav {
        font-size: 0.875rem;
        margin-bottom: 0.5rem;
      }
      a {
        color: var(--hub-accent, #2563eb);
      }
      header {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.4rem 1rem;
        margin-bottom: 1rem;
      }
      h2 {
        margin: 0;
        font-size: 1.45rem;
        overflow-wrap: anywhere;
      }
      h2:focus {
        outline: none;
      }
      .meta {
        display: flex;
        flex-wrap: wrap;
        gap: 0.2rem 0.9rem;
        color: var(--hub-text-muted, #57606a);
        font-size: 0.875rem;
        width: 100%;
      }
      .meta code {
        font-size: 0.85rem;
      }
      .muted {
        color: var(--hub-text-muted, #57606a);
        font-size: 0.875rem;
      }
      .presence {
        display: inline-flex;
        align-items: center;
        gap: 0.5rem;
      }
      .layout {
        display: grid;
        grid-template-columns: repeat(12, minmax(0, 1fr));
        gap: 1rem;
      }
      .layout > * {
        grid-column: 1 / -1;
      }
      @media (min-width: 1000px) {
        device-controls {
          grid-column: 1 / span 5;
        }
        state-table {
          grid-column: 6 / -1;
        }
      }
      .notice {
        padding: 2.5rem 1rem;
        text-align: center;
        color: var(--hub-text-muted, #57606a);
        background: var(--hub-surface, #fff);
        border: 1px solid var(--hub-border, #d0d7de);
        border-radius: var(--hub-radius, 10px);
        line-height: 1.5;
      }
      .notice strong {
        display: block;
        color: var(--hub-text, #1b1f24);
        font-size: 1.05rem;
      }
      .banner {
        margin: 0 0 1rem;
        padding: 0.5rem 0.9rem;
        border-radius: var(--hub-radius-sm, 6px);
        border: 1px solid var(--hub-offline, #cf222e);
        background: var(--hub-offline-bg, #ffebe9);
      }
    `,
  ];

  @property({ attribute: false }) session: LiveSession | null = null;
  @property() deviceId = '';
  @property({ attribute: false }) device: DeviceView | undefined;
  /** True once the store has any snapshot. */
  @property({ type: Boolean }) synced = false;
  @property({ attribute: false }) now = Date.now();
  /** A viewer's page: controls are shown, not usable (the hub would refuse with 403). */
  @property({ type: Boolean }) readOnly = false;
  /** An admin's page: name, room and labels can be changed here. */
  @property({ type: Boolean }) canEdit = false;
  /** The hub cannot be reached: values are the last known, sending is disabled. */
  @property({ type: Boolean }) unreachable = false;
  /** Where the back link goes: the overview with the list view it was left with. */
  @property() overviewHref = '#/';
  /** The device's open alerts (AlertStore.forDevice), sorted. */
  @property({ attribute: false }) alerts: readonly AlertView[] = [];

  @state() private actionError = '';
  @query('h2') private heading!: HTMLElement | null;

  private readonly data = new DeviceDetailController(this);

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('session') || changed.has('deviceId')) {
      this.data.set(this.session, this.deviceId || null);
      this.actionError = '';
    }
  }

  /** Moves focus to the page's heading, for keyboard and screen reader users arriving here. */
  focusHeading(): void {
    void this.updateComplete.then(() => this.heading?.focus());
  }

  override render() {
    const device = this.device;
    const detail = this.data.state;
    const notFound = !device && (this.data.covered || detail?.notFound === true);
    return html`
      <nav aria-label="Breadcrumb"><a href=${this.overviewHref}>← All devices</a></nav>
      ${notFound
        ? html`<h2 tabindex="-1">${this.deviceId}</h2>
            <div class="notice" role="alert">
              <strong>No device “${this.deviceId}”</strong>
              It may have been deleted, or the link is wrong. <a href="#/">Back to all devices</a>
            </div>`
        : !device
          ? html`<h2 tabindex="-1">${this.deviceId}</h2>
              <div class="notice" role="status">${this.synced ? 'Loading device…' : 'Connecting to the hub…'}</div>`
          : this.renderDevice(device)}
    `;
  }

  private renderDevice(device: DeviceView) {
    const detail = this.data.state;
    const { status } = device.presence;
    const caps = device.capabilities;
    return html`
      <header>
        <h2 tabindex="-1">${device.name || device.id}</h2>
        <span class="presence">
          <span class="badge ${this.unreachable ? 'stale' : status}" data-presence=${status} ?data-stale=${this.unreachable}
            >${presenceLabel(status)}${this.unreachable ? ' (last known)' : ''}</span
          >
          <span class="detail muted">${presenceDetail(device.presence, device.lastSeen, this.now)}</span>
        </span>
        <div class="meta">
          <span>id <code>${device.id}</code></span>
          <span>kind ${device.kind}</span>
          ${caps?.model ? html`<span>model ${caps.model}</span>` : nothing}
          ${caps?.fw ? html`<span>firmware ${caps.fw}</span>` : nothing}
          <span>${formatLastSeen(device.lastSeen, this.now)}</span>
        </div>
        <device-attributes .device=${device} ?canEdit=${this.canEdit} .save=${this.saveAttributes}></device-attributes>
      </header>
      ${this.actionError ? html`<p class="banner" role="alert">${this.actionError}</p>` : nothing}
      ${detail
        ? html`<div
            class="layout"
            @send-command=${this.onSend}
            @set-desired=${this.onSetDesired}
            @state-retry=${() => this.data.detail?.reloadState()}
            @range-change=${(e: CustomEvent<RangeChangeDetail>) => this.data.setRange(e.detail.range)}
            @history-retry=${() => this.data.detail?.refresh()}
            @commands-retry=${() => this.data.detail?.reloadCommands()}
            @load-older=${() => void this.data.detail?.loadOlderCommands()}
            @cancel-command=${this.onCancel}
          >
            <live-values .device=${device} .now=${this.now} ?stale=${this.unreachable}></live-values>
            <device-controls
              .capabilities=${caps}
              .reported=${detail.state.view?.reported ?? {}}
              .latest=${device.latest}
              .commands=${detail.commands.timeline.commands}
              .commandsById=${detail.commands.timeline.byId}
              .sends=${detail.sends}
              ?online=${status === 'online'}
              ?readOnly=${this.readOnly}
              ?unreachable=${this.unreachable}
            ></device-controls>
            <state-table
              .view=${detail.state.view}
              .capabilities=${caps}
              .status=${detail.state.status}
              .error=${detail.state.error}
              .edit=${detail.desiredEdit}
              .now=${this.now}
              ?readOnly=${this.readOnly}
              ?unreachable=${this.unreachable}
            ></state-table>
            <device-alerts
              .deviceId=${device.id}
              .alerts=${this.alerts}
              .auth=${this.session?.auth ?? null}
              ?readOnly=${this.readOnly}
              .now=${this.now}
            ></device-alerts>
            <history-panel .history=${detail.history} .capabilities=${caps}></history-panel>
            <command-timeline
              .timeline=${detail.commands.timeline}
              .status=${detail.commands.status}
              .error=${detail.commands.error}
              ?loadingOlder=${detail.commands.loadingOlder}
              .now=${this.now}
            ></command-timeline>
            <message-inspector .session=${this.session} .deviceId=${device.id}></message-inspector>
          </div>`
        : nothing}
    `;
  }

  private readonly saveAttributes = async (patch: DeviceUpdateRequest): Promise<string | null> => {
    const session = this.session;
    if (!session) return 'not connected to the hub';
    try {
      await updateDevice(session.auth, this.deviceId, patch);
      return null;
    } catch (err) {
      return err instanceof ApiError ? err.message : 'the hub could not be reached';
    }
  };

  private readonly onSend = (event: CustomEvent<SendCommandDetail>): void => {
    const { key, name, params } = event.detail;
    void this.data.detail?.send(key, name, params);
  };

  private readonly onSetDesired = (event: CustomEvent<SetDesiredDetail>): void => {
    void this.data.detail?.setDesired(event.detail.key, event.detail.value);
  };

  private readonly onCancel = (event: CustomEvent<CancelCommandDetail>): void => {
    const detail = this.data.detail;
    if (!detail) return;
    this.actionError = '';
    void detail.cancel(event.detail.id).then((error) => {
      if (error) this.actionError = `Could not cancel the command: ${error}`;
    });
  };
}

declare global {
  interface HTMLElementTagNameMap {
    'device-page': DevicePage;
  }
}
