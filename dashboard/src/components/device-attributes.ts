/**
 * <device-attributes>: a device's room and labels in the device page's
 * header, and for an admin a small form to change its name, room and
 * labels in place. The change shows at once and snaps back, with the hub's
 * message, if the hub refuses it; other roles see the values read-only
 * (the hub would answer them 403).
 */
import type { DeviceUpdateRequest, DeviceView } from '@iot-hub/protocol';
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { attributePatch, draftOf, withPatch, type AttributeDraft } from '../data/device-attributes.js';
import { baseStyles } from './shared-styles.js';

type Attributes = Pick<DeviceView, 'name' | 'room' | 'labels'>;

/** Saves a patch; resolves with null when the hub took it, else the message to show. */
export type SaveAttributes = (patch: DeviceUpdateRequest) => Promise<string | null>;

@customElement('device-attributes')
export class DeviceAttributes extends LitElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: block;
        width: 100%;
        font-size: 0.875rem;
      }
      dl {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.2rem 0.9rem;
        margin: 0;
      }
      dt {
        color: var(--hub-text-muted, #57606a);
      }
      dd {
        margin: 0 0 0 -0.6rem;
      }
      .labels {
        display: inline-flex;
        flex-wrap: wrap;
        gap: 0.25rem;
        list-style: none;
        margin: 0;
        padding: 0;
      }
      .labels li {
        padding: 0 0.45rem;
        border-radius: 999px;
        border: 1px solid var(--hub-border, #d0d7de);
        background: var(--hub-surface-muted, #f6f8fa);
      }
      form {
        display: flex;
        flex-wrap: wrap;
        align-items: end;
        gap: 0.5rem 0.75rem;
        margin-top: 0.4rem;
      }
      label {
        display: flex;
        flex-direction: column;
        gap: 0.15rem;
        color: var(--hub-text-muted, #57606a);
      }
      .error {
        color: var(--hub-offline, #cf222e);
        margin: 0.3rem 0 0;
      }
      .muted {
        color: var(--hub-text-muted, #57606a);
      }
    `,
  ];

  @property({ attribute: false }) device: DeviceView | undefined;
  /** Admins only: the hub refuses PATCH /api/devices/{id} to other roles. */
  @property({ type: Boolean }) canEdit = false;
  @property({ attribute: false }) save: SaveAttributes | null = null;

  @state() private editing = false;
  @state() private draft: AttributeDraft = { name: '', room: '', labels: '' };
  /** What was saved and not yet seen back from the hub: shown in place of the device's values. */
  @state() private pending: Attributes | null = null;
  @state() private error = '';

  override willUpdate(changed: PropertyValues<this>): void {
    const device = this.device;
    if (!changed.has('device') || !device || !this.pending) return;
    // The hub's own update arrived: its values take over from the optimistic ones.
    if (sameAttributes(device, this.pending)) this.pending = null;
  }

  override render() {
    const device = this.device;
    if (!device) return nothing;
    const shown = this.pending ?? device;
    return html`
      <dl>
        <dt>room</dt>
        <dd data-room>${shown.room ?? html`<span class="muted">none</span>`}</dd>
        <dt>labels</dt>
        <dd>
          ${shown.labels.length === 0
            ? html`<span class="muted" data-labels>none</span>`
            : html`<ul class="labels" data-labels aria-label="Labels">
                ${shown.labels.map((label) => html`<li>${label}</li>`)}
              </ul>`}
        </dd>
        ${this.canEdit && !this.editing ? html`<dd><button type="button" class="edit" @click=${this.open}>Edit name, room and labels</button></dd>` : nothing}
      </dl>
      ${this.editing ? this.renderForm() : nothing}
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
    `;
  }

  private renderForm() {
    const field = (key: keyof AttributeDraft) => (event: Event) => {
      this.draft = { ...this.draft, [key]: (event.target as HTMLInputElement).value };
    };
    return html`<form @submit=${this.onSubmit} @keydown=${this.onKeydown} aria-label="Edit name, room and labels">
      <label>Name <input id="attr-name" .value=${this.draft.name} @input=${field('name')} maxlength="128" required /></label>
      <label>Room <input id="attr-room" .value=${this.draft.room} @input=${field('room')} maxlength="64" placeholder="none" /></label>
      <label
        >Labels (comma-separated)
        <input id="attr-labels" .value=${this.draft.labels} @input=${field('labels')} placeholder="e.g. freezer, zone:north" />
      </label>
      <button type="submit">Save</button>
      <button type="button" @click=${this.close}>Cancel</button>
    </form>`;
  }

  private readonly open = (): void => {
    if (!this.device) return;
    this.draft = draftOf(this.pending ?? this.device);
    this.error = '';
    this.editing = true;
    void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLInputElement>('#attr-name')?.focus());
  };

  private readonly close = (): void => {
    this.editing = false;
    void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLButtonElement>('button.edit')?.focus());
  };

  private readonly onKeydown = (event: KeyboardEvent): void => {
    if (event.key === 'Escape') {
      event.preventDefault();
      this.close();
    }
  };

  private readonly onSubmit = (event: Event): void => {
    event.preventDefault();
    const device = this.device;
    if (!device || !this.save) return;
    const base = this.pending ?? device;
    const patch = attributePatch(base, this.draft);
    this.close();
    if (Object.keys(patch).length === 0) return;
    const optimistic = withPatch(base, patch);
    this.pending = optimistic;
    this.error = '';
    void this.save(patch).then((message) => {
      if (message === null) return;
      // Refused: back to what the hub has, with its reason.
      if (this.pending === optimistic) this.pending = null;
      this.error = `Could not save: ${message}`;
    });
  };
}

function sameAttributes(a: Attributes, b: Attributes): boolean {
  return a.name === b.name && a.room === b.room && a.labels.length === b.labels.length && a.labels.every((label, i) => label === b.labels[i]);
}

declare global {
  interface HTMLElementTagNameMap {
    'device-attributes': DeviceAttributes;
  }
}
