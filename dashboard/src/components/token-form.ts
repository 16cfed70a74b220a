/**
 * <token-form>: signs in. By default a username and password (fires
 * `login-submit` with `{username, password}`; <hub-app> logs in and the hub
 * sets the session cookie); or, for the demo link and break-glass access,
 * the admin token (fires `token-submit` with `{token}`). `error` explains
 * why we ask again.
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { baseStyles } from './shared-styles.js';

export interface TokenSubmitDetail {
  token: string;
}

export interface LoginSubmitDetail {
  username: string;
  password: string;
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
      button.switch {
        border: 0;
        background: none;
        padding: 0;
        color: var(--hub-accent, #2563eb);
        font-size: 0.85rem;
      }
    `,
  ];

  /** Why the token is asked for again, or empty on a first visit. */
  @property() error = '';

  /** Pending login: the button waits. */
  @property({ type: Boolean }) busy = false;

  @state() private value = '';
  @state() private mode: 'login' | 'token' = 'login';
  @state() private username = '';
  @state() private password = '';
  @query('input') private input!: HTMLInputElement;

  override firstUpdated(): void {
    this.input.focus();
  }

  private switchMode(): void {
    this.mode = this.mode === 'login' ? 'token' : 'login';
    void this.updateComplete.then(() => this.input.focus());
  }

  override render() {
    return this.mode === 'login' ? this.renderLogin() : this.renderToken();
  }

  private renderLogin() {
    const invalid = this.error !== '';
    const ready = this.username.trim() !== '' && this.password !== '' && !this.busy;
    return html`
      <form @submit=${this.submitLogin} aria-labelledby="title">
        <h2 id="title">Sign in to the hub</h2>
        <label for="username">Username</label>
        <input
          id="username"
          name="username"
          autocomplete="username"
          spellcheck="false"
          required
          .value=${this.username}
          @input=${(event: Event) => (this.username = (event.target as HTMLInputElement).value)}
          aria-invalid=${invalid ? 'true' : 'false'}
        />
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
          .value=${this.password}
          @input=${(event: Event) => (this.password = (event.target as HTMLInputElement).value)}
          aria-invalid=${invalid ? 'true' : 'false'}
          aria-describedby=${invalid ? 'error' : nothing}
        />
        ${invalid ? html`<p id="error" class="error" role="alert">${this.error}</p>` : nothing}
        <button class="primary" type="submit" ?disabled=${!ready}>Sign in</button>
        <button class="switch" type="button" @click=${this.switchMode}>Use an admin token instead</button>
      </form>
    `;
  }

  private submitLogin(event: SubmitEvent): void {
    event.preventDefault();
    const username = this.username.trim();
    if (username === '' || this.password === '' || this.busy) return;
    this.dispatchEvent(
      new CustomEvent<LoginSubmitDetail>('login-submit', { detail: { username, password: this.password }, bubbles: true, composed: true }),
    );
  }

  private renderToken() {
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
        <button class="switch" type="button" @click=${this.switchMode}>Sign in with a username instead</button>
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
