/**
 * <alert-list>: open alerts as given (already sorted), each with its
 * severity, state, device link, summary, since when, the value that caused
 * it, who acknowledged it, whether it is silenced, and its actions.
 */
import type { AlertView } from '@iot-hub/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { ApiAuth } from '../data/api.js';
import { isSilenced } from '../data/alert-store.js';
import { deviceHref } from '../data/router.js';
import { formatRelativeTime, formatValue } from '../format.js';
import { severityStyles } from './alert-styles.js';
import { baseStyles } from './shared-styles.js';
import './alert-actions.js';

@customElement('alert-list')
export class AlertList extends LitElement {
  static override styles = [
    baseStyles,
    severityStyles,
    css`
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        gap: 0.6rem;
      }
      li {
        border: 1px solid var(--hub-border, #d0d7de);
        border-radius: var(--hub-radius-sm, 6px);
        padding: 0.6rem 0.8rem;
        background: var(--hub-surface, #fff);
      }
      .head {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
        align-items: baseline;
      }
      .state {
        font-weight: 600;
        text-transform: capitalize;
      }
      .meta {
        color: var(--hub-text-muted, #57606a);
        font-size: 0.9rem;
      }
      .empty {
        color: var(--hub-text-muted, #57606a);
      }
    `,
  ];

  @property({ attribute: false }) alerts: readonly AlertView[] = [];
  @property({ attribute: false }) auth: ApiAuth | null = null;
  @property({ type: Boolean }) readOnly = false;
  @property({ type: Number }) now = Date.now();
  /** Leave out the device link (on the device's own page). */
  @property({ type: Boolean }) hideDevice = false;

  override render() {
    if (this.alerts.length === 0) return html`<p class="empty" data-empty>No open alerts.</p>`;
    return html`<ul aria-label=${`Open alerts (${this.alerts.length})`}>
      ${this.alerts.map((alert) => this.renderAlert(alert))}
    </ul>`;
  }

  private renderAlert(alert: AlertView) {
    const silenced = isSilenced(alert, this.now);
    return html`<li data-alert=${alert.id} data-device-id=${alert.deviceId} data-state=${alert.state} data-severity=${alert.severity}>
      <div class="head">
        <span class="sev ${alert.severity}">${alert.severity}</span>
        <span class="state">${alert.state}</span>
        ${this.hideDevice ? nothing : html`<a href=${deviceHref(alert.deviceId)}>${alert.deviceId}</a>`}
        <span class="summary">${alert.summary || alert.ruleName}</span>
      </div>
      <div class="meta">
        Rule ${alert.ruleName} · since <time datetime=${new Date(alert.since).toISOString()}>${formatRelativeTime(alert.since, this.now)}</time>
        ${alert.value === null ? nothing : html` · value <span data-value>${formatValue(alert.value)}</span>`}
        ${silenced ? html` · <span data-silenced>silenced until ${new Date(alert.silencedUntil as number).toLocaleString()}</span>` : nothing}
        ${alert.acknowledged
          ? html` · <span data-acknowledged>acknowledged by ${alert.acknowledged.by}${alert.acknowledged.note ? html`: “${alert.acknowledged.note}”` : nothing}</span>`
          : nothing}
      </div>
      <alert-actions .alert=${alert} .auth=${this.auth} ?readOnly=${this.readOnly}></alert-actions>
    </li>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'alert-list': AlertList;
  }
}
