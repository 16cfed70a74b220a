/**
 * <alert-toasts>: a small stack of new critical alerts in a corner, read out
 * politely (aria-live), each with its device link and a dismiss button that
 * fires `toast-dismiss` with the alert id.
 */
import { LitElement, css, html } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { deviceHref } from '../data/router.js';
import type { Toast } from '../data/toast-stack.js';
import { severityStyles } from './alert-styles.js';
import { baseStyles } from './shared-styles.js';

@customElement('alert-toasts')
export class AlertToasts extends LitElement {
  static override styles = [
    baseStyles,
    severityStyles,
    css`
      :host {
        position: fixed;
        right: 1rem;
        bottom: 1rem;
        z-index: 20;
        max-width: min(26rem, calc(100vw - 2rem));
      }
      ol {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        gap: 0.5rem;
      }
      li {
        display: flex;
        gap: 0.6rem;
        align-items: flex-start;
        padding: 0.7rem 0.8rem;
        border: 1px solid var(--hub-offline, #cf222e);
        border-left-width: 5px;
        border-radius: var(--hub-radius-sm, 6px);
        background: var(--hub-surface, #fff);
        box-shadow: 0 4px 14px rgb(0 0 0 / 18%);
      }
      .text {
        flex: 1;
      }
      .text a {
        font-weight: 600;
      }
      button {
        padding: 0.1rem 0.45rem;
      }
    `,
  ];

  @property({ attribute: false }) toasts: readonly Toast[] = [];

  override render() {
    return html`<ol aria-live="polite" aria-label="New critical alerts">
      ${this.toasts.map(
        ({ alert }) => html`<li data-toast=${alert.id}>
          <span class="text">
            <span class="sev critical">Critical</span>
            <a href=${deviceHref(alert.deviceId)}>${alert.deviceId}</a>: ${alert.summary || alert.ruleName}
          </span>
          <button type="button" aria-label=${`Dismiss the alert about ${alert.deviceId}`} @click=${() => this.dismiss(alert.id)}>✕</button>
        </li>`,
      )}
    </ol>`;
  }

  private dismiss(alertId: string): void {
    this.dispatchEvent(new CustomEvent('toast-dismiss', { detail: alertId, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'alert-toasts': AlertToasts;
  }
}
