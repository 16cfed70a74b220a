/**
 * <alert-actions>: what an operator does to one open alert: acknowledge it
 * with a note, or silence its notifications for a while, by its rule or by
 * its device. A viewer sees the same controls disabled, with the words the
 * device controls use. Fires `alert-changed` after a success, so the page
 * re-reads the list.
 */
import type { AlertView } from '@iot-hub/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { acknowledgeAlert, createSilence, type ApiAuth } from '../data/api.js';
import { READ_ONLY_HINT } from './alert-styles.js';
import { baseStyles } from './shared-styles.js';

/** The silence lengths offered, in hours; `custom` asks for a number of hours (at most 30 days). */
const SILENCE_HOURS = [1, 4, 24] as const;
const MAX_CUSTOM_HOURS = 30 * 24;

@customElement('alert-actions')
export class AlertActions extends LitElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: block;
      }
      form {
        display: flex;
        flex-wrap: wrap;
        gap: 0.4rem;
        align-items: center;
        margin: 0.3rem 0;
      }
      fieldset {
        border: 0;
        padding: 0;
        margin: 0;
      }
      input,
      select {
        font: inherit;
        padding: 0.25rem 0.4rem;
      }
      input.note {
        min-width: 14rem;
        flex: 1;
      }
      input.hours {
        width: 5rem;
      }
      .error {
        color: var(--hub-offline, #cf222e);
        margin: 0.2rem 0;
      }
      .hint {
        color: var(--hub-text-muted, #57606a);
        margin: 0.2rem 0;
        font-size: 0.85rem;
      }
    `,
  ];

  @property({ attribute: false }) alert!: AlertView;
  @property({ attribute: false }) auth: ApiAuth | null = null;
  @property({ type: Boolean }) readOnly = false;

  @state() private busy = false;
  @state() private error = '';
  @state() private silenceChoice = '1';
  @state() private silenceBy: 'rule' | 'device' = 'rule';

  override render() {
    const alert = this.alert;
    const disabled = this.readOnly || this.busy || this.auth === null;
    return html`${this.readOnly ? html`<p class="hint read-only">${READ_ONLY_HINT}</p>` : nothing}
      <fieldset ?disabled=${disabled}>
        ${alert.acknowledged
          ? nothing
          : html`<form class="ack" @submit=${this.acknowledge}>
              <label class="visually-hidden" for="note">Note</label>
              <input id="note" class="note" name="note" maxlength="1000" placeholder="Note (what you are doing about it)" />
              <button type="submit" data-action="ack">Acknowledge</button>
            </form>`}
        <form class="silence" @submit=${this.silence}>
          <label for="for">Silence for</label>
          <select id="for" .value=${this.silenceChoice} @change=${(e: Event) => (this.silenceChoice = (e.target as HTMLSelectElement).value)}>
            ${SILENCE_HOURS.map((h) => html`<option value=${h}>${h} h</option>`)}
            <option value="custom">custom…</option>
          </select>
          ${this.silenceChoice === 'custom'
            ? html`<label class="visually-hidden" for="hours">Hours</label
                ><input id="hours" class="hours" type="number" min="0.1" max=${MAX_CUSTOM_HOURS} step="0.1" value="2" required /> h`
            : nothing}
          <label for="by">by</label>
          <select id="by" .value=${this.silenceBy} @change=${(e: Event) => (this.silenceBy = (e.target as HTMLSelectElement).value as 'rule' | 'device')}>
            <option value="rule">rule “${alert.ruleName}”</option>
            <option value="device">device ${alert.deviceId}</option>
          </select>
          <button type="submit" data-action="silence">Silence</button>
        </form>
      </fieldset>
      ${this.error ? html`<p class="error" role="alert" data-error>${this.error}</p>` : nothing}`;
  }

  private async acknowledge(event: Event): Promise<void> {
    event.preventDefault();
    const note = ((event.target as HTMLFormElement).elements.namedItem('note') as HTMLInputElement).value.trim();
    await this.run(() => acknowledgeAlert(this.auth as ApiAuth, this.alert.id, note === '' ? {} : { note }));
  }

  private async silence(event: Event): Promise<void> {
    event.preventDefault();
    const hoursInput = (event.target as HTMLFormElement).elements.namedItem('hours') as HTMLInputElement | null;
    const hours = this.silenceChoice === 'custom' ? Number(hoursInput?.value) : Number(this.silenceChoice);
    if (!(hours > 0 && hours <= MAX_CUSTOM_HOURS)) {
      this.error = `Hours: between 0.1 and ${MAX_CUSTOM_HOURS} (30 days).`;
      return;
    }
    const until = Date.now() + hours * 3_600_000;
    const matcher = this.silenceBy === 'rule' ? { ruleId: this.alert.ruleId } : { deviceId: this.alert.deviceId };
    await this.run(() => createSilence(this.auth as ApiAuth, { ...matcher, until, note: `from the dashboard, ${hours} h` }));
  }

  private async run(action: () => Promise<unknown>): Promise<void> {
    this.busy = true;
    this.error = '';
    try {
      await action();
      this.dispatchEvent(new CustomEvent('alert-changed', { bubbles: true, composed: true }));
    } catch (error) {
      this.error = (error as Error).message;
    } finally {
      this.busy = false;
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'alert-actions': AlertActions;
  }
}
