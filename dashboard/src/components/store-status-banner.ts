/**
 * <store-status-banner>: shown while /healthz says `degraded`: the telemetry
 * store (InfluxDB) is unreachable or its local buffer is filling. Says how
 * full the buffer is and what that means for the data (storeBanner()).
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { HealthResponse } from '@iot-hub/protocol';
import { storeBanner } from '../format.js';
import { baseStyles } from './shared-styles.js';

@customElement('store-status-banner')
export class StoreStatusBanner extends LitElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: block;
      }
      section {
        margin: 0 0 1rem;
        padding: 0.6rem 0.9rem;
        border-radius: var(--hub-radius-sm, 6px);
        border: 1px solid var(--hub-warning, #9a6700);
        background: var(--hub-warning-bg, #fff8c5);
        color: var(--hub-text, #1b1f24);
      }
      section.error {
        border-color: var(--hub-offline, #cf222e);
        background: var(--hub-offline-bg, #ffebe9);
      }
      h2 {
        margin: 0 0 0.35rem;
        font-size: 0.95rem;
      }
      p {
        margin: 0.2rem 0;
        font-size: 0.875rem;
      }
      meter {
        width: min(20rem, 100%);
        height: 0.9rem;
      }
    `,
  ];

  @property({ attribute: false }) health: HealthResponse | null = null;
  @property({ attribute: false }) now = Date.now();

  override render() {
    const banner = this.health ? storeBanner(this.health, this.now) : null;
    if (!banner) return nothing;
    return html`
      <section class=${banner.severity} role="alert" data-severity=${banner.severity}>
        <h2>${banner.title}</h2>
        ${banner.bufferFill === null
          ? nothing
          : html`<p>
              <label>Buffer
                <meter min="0" max="1" low="0.5" high="0.8" optimum="0" .value=${banner.bufferFill} data-fill=${banner.bufferFill.toFixed(3)}></meter>
              </label>
            </p>`}
        ${banner.details.map((line) => html`<p>${line}</p>`)}
      </section>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'store-status-banner': StoreStatusBanner;
  }
}
