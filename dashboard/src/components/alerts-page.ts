/**
 * <alerts-page>: `#/alerts`, the open alerts (pending and firing) of the
 * whole fleet, critical first and newest first, filtered by severity and
 * state; `#/alerts/history`, every transition, a page at a time.
 */
import type { AlertSeverity, AlertView } from '@iot-hub/protocol';
import { ALERT_SEVERITIES } from '@iot-hub/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { ApiAuth } from '../data/api.js';
import { baseStyles } from './shared-styles.js';
import './alert-history.js';
import './alert-list.js';

type StateFilter = 'all' | 'firing' | 'pending';

@customElement('alerts-page')
export class AlertsPage extends LitElement {
  static override styles = [
    baseStyles,
    css`
      nav {
        display: flex;
        gap: 1rem;
        margin: 0 0 1rem;
      }
      nav a[aria-current='page'] {
        font-weight: 700;
        text-decoration: none;
      }
      .filters {
        display: flex;
        gap: 1rem;
        margin: 0 0 1rem;
        align-items: center;
      }
      select {
        font: inherit;
        padding: 0.25rem 0.4rem;
      }
      .error {
        color: var(--hub-offline, #cf222e);
      }
    `,
  ];

  @property() tab: 'current' | 'history' = 'current';
  /** The open alerts, sorted (AlertStore.sorted). */
  @property({ attribute: false }) alerts: readonly AlertView[] = [];
  @property({ attribute: false }) auth: ApiAuth | null = null;
  @property({ type: Boolean }) readOnly = false;
  @property({ type: Number }) now = Date.now();
  /** Why the list could not be read, if it could not. */
  @property() error: string | null = null;

  @state() private severity: AlertSeverity | 'all' = 'all';
  @state() private stateFilter: StateFilter = 'all';

  override render() {
    return html`<h2 class="page-title" tabindex="-1">Alerts</h2>
      <nav aria-label="Alert views">
        <a href="#/alerts" aria-current=${this.tab === 'current' ? 'page' : 'false'}>Current</a>
        <a href="#/alerts/history" aria-current=${this.tab === 'history' ? 'page' : 'false'}>History</a>
        <a href="#/rules">Rules</a>
      </nav>
      ${this.tab === 'history' ? html`<alert-history .auth=${this.auth}></alert-history>` : this.renderCurrent()}`;
  }

  private renderCurrent() {
    const shown = this.alerts.filter(
      (alert) => (this.severity === 'all' || alert.severity === this.severity) && (this.stateFilter === 'all' || alert.state === this.stateFilter),
    );
    return html`<div class="filters">
        <label
          >Severity
          <select id="severity" @change=${(e: Event) => (this.severity = (e.target as HTMLSelectElement).value as AlertSeverity | 'all')}>
            <option value="all">all</option>
            ${ALERT_SEVERITIES.map((s) => html`<option value=${s} ?selected=${this.severity === s}>${s}</option>`)}
          </select></label
        >
        <label
          >State
          <select id="state" @change=${(e: Event) => (this.stateFilter = (e.target as HTMLSelectElement).value as StateFilter)}>
            <option value="all">pending and firing</option>
            <option value="firing">firing</option>
            <option value="pending">pending</option>
          </select></label
        >
      </div>
      ${this.error ? html`<p class="error" role="alert">Cannot read the alerts: ${this.error}</p>` : nothing}
      <alert-list .alerts=${shown} .auth=${this.auth} ?readOnly=${this.readOnly} .now=${this.now}></alert-list>`;
  }

  focusHeading(): void {
    this.renderRoot.querySelector<HTMLElement>('h2')?.focus({ preventScroll: true });
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'alerts-page': AlertsPage;
  }
}
