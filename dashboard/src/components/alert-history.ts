/**
 * <alert-history>: the alert history (GET /api/alerts/history), newest
 * first, a page at a time with "Older" to read on; for one device when
 * `deviceId` is set.
 */
import type { AlertHistoryEntry } from '@iot-hub/protocol';
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { getAlertHistory, type ApiAuth } from '../data/api.js';
import { deviceHref } from '../data/router.js';
import { formatValue } from '../format.js';
import { severityStyles } from './alert-styles.js';
import { baseStyles } from './shared-styles.js';

@customElement('alert-history')
export class AlertHistory extends LitElement {
  static override styles = [
    baseStyles,
    severityStyles,
    css`
      table {
        border-collapse: collapse;
        width: 100%;
      }
      th,
      td {
        text-align: left;
        padding: 0.3rem 0.5rem;
        border-bottom: 1px solid var(--hub-border, #d0d7de);
        vertical-align: top;
      }
      .error {
        color: var(--hub-offline, #cf222e);
      }
    `,
  ];

  @property({ attribute: false }) auth: ApiAuth | null = null;
  @property() deviceId: string | undefined;
  @property({ type: Number }) pageSize = 50;

  @state() private entries: AlertHistoryEntry[] = [];
  @state() private next: string | null = null;
  @state() private loading = false;
  @state() private error = '';

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('auth') || changed.has('deviceId')) {
      this.entries = [];
      this.next = null;
      void this.load();
    }
  }

  /** Reads the newest page again (after a change the page knows of). */
  reload(): void {
    this.entries = [];
    this.next = null;
    void this.load();
  }

  private async load(before?: string): Promise<void> {
    if (!this.auth) return;
    this.loading = true;
    this.error = '';
    try {
      const page = await getAlertHistory(this.auth, {
        limit: this.pageSize,
        ...(this.deviceId === undefined ? {} : { deviceId: this.deviceId }),
        ...(before === undefined ? {} : { before }),
      });
      this.entries = before === undefined ? page.entries : [...this.entries, ...page.entries];
      this.next = page.next;
    } catch (error) {
      this.error = `Cannot read the alert history: ${(error as Error).message}`;
    } finally {
      this.loading = false;
    }
  }

  override render() {
    if (this.error) return html`<p class="error" role="alert">${this.error}</p>`;
    if (this.entries.length === 0) return html`<p class="muted" data-empty>${this.loading ? 'Loading…' : 'No alert history.'}</p>`;
    return html`<table aria-label="Alert history">
        <thead>
          <tr>
            <th>When</th>
            <th>What</th>
            <th>Severity</th>
            ${this.deviceId === undefined ? html`<th>Device</th>` : nothing}
            <th>Summary</th>
            <th>Value</th>
            <th>By</th>
          </tr>
        </thead>
        <tbody>
          ${this.entries.map(
            (entry) => html`<tr data-history=${entry.id} data-to=${entry.to}>
              <td><time datetime=${new Date(entry.ts).toISOString()}>${new Date(entry.ts).toLocaleString()}</time></td>
              <td>${entry.to}</td>
              <td><span class="sev ${entry.severity}">${entry.severity}</span></td>
              ${this.deviceId === undefined ? html`<td><a href=${deviceHref(entry.deviceId)}>${entry.deviceId}</a></td>` : nothing}
              <td>${entry.summary}</td>
              <td>${entry.value === null ? '' : formatValue(entry.value)}</td>
              <td>${entry.actor ?? 'rule'}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${this.next === null ? nothing : html`<button type="button" ?disabled=${this.loading} @click=${() => void this.load(this.next ?? undefined)}>Older</button>`}`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'alert-history': AlertHistory;
  }
}
