/**
 * <alert-badge>: the header's count of firing alerts, coloured by the worst
 * severity among them, a link to the Alerts page. Pending alerts are said in
 * the title, not counted: the badge is what needs a look now.
 */
import { LitElement, css, html } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { AlertCounts } from '../data/alert-store.js';
import { bellIcon, severityStyles } from './alert-styles.js';
import { baseStyles } from './shared-styles.js';

@customElement('alert-badge')
export class AlertBadge extends LitElement {
  static override styles = [
    baseStyles,
    severityStyles,
    css`
      a {
        text-decoration: none;
      }
    `,
  ];

  @property({ attribute: false }) counts: AlertCounts = { firing: 0, pending: 0, worstFiring: null };

  override render() {
    const { firing, pending, worstFiring } = this.counts;
    const words = `${firing} firing alert${firing === 1 ? '' : 's'}${pending > 0 ? `, ${pending} pending` : ''}`;
    return html`<a class="sev ${worstFiring ?? 'none'}" href="#/alerts" title=${words} aria-label=${`Alerts: ${words}`} data-firing=${firing} data-worst=${worstFiring ?? 'none'}
      >${bellIcon} Alerts <strong>${firing}</strong></a
    >`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'alert-badge': AlertBadge;
  }
}
