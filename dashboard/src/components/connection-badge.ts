/**
 * <connection-badge>: the live socket's status, announced politely to screen
 * readers, with a "Retry now" button while the connection waits to retry.
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { LiveState, LiveStatus } from '../data/live-connection.js';
import { badgeStyles, baseStyles } from './shared-styles.js';

const LABELS: Record<LiveStatus, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
  unauthorized: 'Not authorized',
};

@customElement('connection-badge')
export class ConnectionBadge extends LitElement {
  static override styles = [
    baseStyles,
    badgeStyles,
    css`
      :host {
        display: inline-flex;
        align-items: center;
        gap: 0.5rem;
      }
      button {
        font-size: 0.8rem;
        padding: 0.15rem 0.6rem;
      }
    `,
  ];

  @property({ attribute: false }) state: LiveState | null = null;

  override render() {
    if (!this.state) return nothing;
    const { status, lastError, nextRetryAt } = this.state;
    const title = status === 'live' ? 'Receiving live updates' : (lastError ?? LABELS[status]);
    return html`
      <span class="badge ${status}" role="status" aria-live="polite" title=${title} data-status=${status}>
        ${LABELS[status]}
      </span>
      ${nextRetryAt !== null
        ? html`<button type="button" @click=${this.retry} aria-label="Retry connecting now">Retry now</button>`
        : nothing}
    `;
  }

  private retry(): void {
    this.dispatchEvent(new CustomEvent('retry', { bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'connection-badge': ConnectionBadge;
  }
}
