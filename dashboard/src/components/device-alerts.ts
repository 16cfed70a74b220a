/**
 * <device-alerts>: the "Alerts" section of a device's page: its open alerts
 * (live, with their actions) and its recent alert history.
 */
import type { AlertView } from '@iot-hub/protocol';
import { LitElement, css, html } from 'lit';
import { customElement, property, query } from 'lit/decorators.js';
import type { ApiAuth } from '../data/api.js';
import type { AlertHistory } from './alert-history.js';
import { baseStyles } from './shared-styles.js';
import './alert-history.js';
import './alert-list.js';

@customElement('device-alerts')
export class DeviceAlerts extends LitElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: block;
      }
      section {
        border: 1px solid var(--hub-border, #d0d7de);
        border-radius: var(--hub-radius, 8px);
        background: var(--hub-surface, #fff);
        padding: 0.8rem 1rem;
      }
      h3 {
        margin: 0 0 0.6rem;
        font-size: 1rem;
      }
      h4 {
        margin: 1rem 0 0.4rem;
        font-size: 0.95rem;
      }
    `,
  ];

  @property() deviceId = '';
  /** The device's open alerts, sorted. */
  @property({ attribute: false }) alerts: readonly AlertView[] = [];
  @property({ attribute: false }) auth: ApiAuth | null = null;
  @property({ type: Boolean }) readOnly = false;
  @property({ type: Number }) now = Date.now();
  @query('alert-history') private history!: AlertHistory | null;

  /** What the open alerts were when the history was last read. */
  private shownKey: string | null = null;

  /** An open alert changed (a transition or an acknowledgement): its history has a new entry, so read it again. */
  override updated(): void {
    const key = this.alerts.map((a) => `${a.id}:${a.state}:${a.since}:${a.acknowledged?.at ?? ''}`).join(',');
    if (key === this.shownKey) return;
    // The first render's history is read by <alert-history> itself.
    const first = this.shownKey === null;
    this.shownKey = key;
    if (!first) this.history?.reload();
  }

  override render() {
    return html`<section aria-labelledby="alerts-title" data-device-alerts>
      <h3 id="alerts-title">Alerts</h3>
      <alert-list .alerts=${this.alerts} .auth=${this.auth} ?readOnly=${this.readOnly} .now=${this.now} hideDevice></alert-list>
      <h4>Recent history</h4>
      <alert-history .auth=${this.auth} .deviceId=${this.deviceId} .pageSize=${10}></alert-history>
    </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'device-alerts': DeviceAlerts;
  }
}
