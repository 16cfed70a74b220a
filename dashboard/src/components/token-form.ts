/**
 * <token-form>: asks for the admin token. Fires `token-submit` with
 * `{token}`; <hub-app> saves it and connects. `error` explains why we ask
 * again (the hub refused the saved token).
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { baseStyles } from './shared-styles.js';

export interface TokenSubmitDetail {
  token: string;
}

@customElement('token-form')
export class TokenForm extends LitElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: block;
        max-width: 28rem;
        margin: 10vh auto 0;
      }
      form {
        display: grid;
        gap: 0.75rem;
        padding: 1.5rem;
        background: var(--hub-surface, #fff);
        border: 1px solid var(--hub-border, #d0d7de);
        border-radius: var(--hub-radius, 10px);
        box-shadow: var(--hub-shadow, 0 1px 3px rgb(0 0 0 / 8%));
      }
      h2 {
        margin: 0;
        font-size: 1.25rem;
      }
      p {
        margin: 0;
        color: var(--hub-text-muted, #57606a);
        line-height: 1.45;
      }
      label {
        font-weight: 600;
      }
      input {
        font: inherit;
        font-family: var(--hub-mono, ui-monospace, monospace);
        color: inherit;
        width: 100%;
        padding: 0.5rem 0.65rem;
        background: var(--hub-bg, #f6f8fa);
        border: 1px solid var(--hub-border, #d0d7de);
        border-radius: var(--hub-radius-sm, 6px);
      }
      input[aria-invalid='true'] {
        border-color: var(--hub-offline, #cf222e);
      }
      .error {
        color: var(--hub-offline, #cf222e);
        font-weight: 500;
      }
      .hint {
        font-size: 0.85rem;
      }
      button {
        justify-self: start;
      }
    `,
  ];

  /** Why the token is asked for again, or empty on a first visit. */
  @property() error = '';

  @state() private value = '';
  @query('input') private input!: HTMLInputElement;

  override firstUpdated(): void {
    this.input.focus();
  }

  override render() {
    const invalid = this.error !== '';
    return html`
      <form @submit=${this.submit} aria-labelledby="title">
        <h2 id="title">Connect to the hub</h2>
        <p>Enter the hub's admin token. It is kept in this browser, so you are asked only once.</p>
        <label for="token">Admin token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          spellcheck="false"
          required
          .value=${this.value}
          @input=${(event: Event) => (this.value = (event.target as HTMLInputElement).value)}
          aria-invalid=${invalid ? 'true' : 'false'}
          aria-describedby=${invalid ? 'error hint' : 'hint'}
        />
        ${invalid ? html`<p id="error" class="error" role="alert">${this.error}</p>` : nothing}
        <button class="primary" type="submit" ?disabled=${this.value.trim() === ''}>Connect</button>
        <p id="hint" class="hint">
          Tip: a link ending in <code>#token=…</code> signs this browser in directly; the token is then removed from
          the address bar.
        </p>
      </form>
    `;
  }

  private submit(event: SubmitEvent): void {
    event.preventDefault();
    const token = this.value.trim();
    if (token === '') return;
    this.dispatchEvent(
      new CustomEvent<TokenSubmitDetail>('token-submit', { detail: { token }, bubbles: true, composed: true }),
    );
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'token-form': TokenForm;
  }
}
