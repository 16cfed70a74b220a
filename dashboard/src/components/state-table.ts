/**
 * <state-table>: desired vs reported state, one row per key, keys still
 * waiting for the device marked and listed first. Each row can set (or
 * clear) its desired value inline; the edit is conditional on the desired
 * version shown, so two operators cannot overwrite each other unknowingly.
 * Fires `set-desired` with `{key, value}` (`null` clears the key) and
 * `state-retry`.
 */
import type { Capabilities, DeviceStateView, StateValue } from '@iot-hub/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { parseField, stateFieldFor, type FieldSpec } from '../data/controls.js';
import type { DesiredEdit, LoadStatus } from '../data/device-detail.js';
import { formatStateValue, pendingCount, stateRows, type StateRow, type StateRowStatus } from '../data/device-state.js';
import { formatRelativeTime } from '../format.js';
import { baseStyles, panelStyles } from './shared-styles.js';

export interface SetDesiredDetail {
  key: string;
  value: StateValue;
}

const STATUS_LABELS: Record<StateRowStatus, string> = {
  'in-sync': 'In sync',
  pending: 'Pending',
  confirming: 'Awaiting confirmation',
};

const STATUS_HINTS: Record<StateRowStatus, string> = {
  'in-sync': 'nothing desired that the device has not reported',
  pending: 'the device has not applied the desired value yet',
  confirming: 'the device last reported this value before it was requested; waiting for a new report',
};

@customElement('state-table')
export class StateTable extends LitElement {
  static override styles = [
    baseStyles,
    panelStyles,
    css`
      table {
        width: 100%;
        border-collapse: collapse;
        font-size: 0.9rem;
      }
      th,
      td {
        text-align: left;
        padding: 0.45rem 0.5rem;
        border-top: 1px solid var(--hub-border, #d0d7de);
        vertical-align: middle;
      }
      thead th {
        border-top: 0;
        font-size: 0.75rem;
        font-weight: 600;
        text-transform: uppercase;
        letter-spacing: 0.04em;
        color: var(--hub-text-muted, #57606a);
      }
      th[scope='row'] {
        font-family: var(--hub-mono, ui-monospace, monospace);
        font-weight: 500;
        overflow-wrap: break-word;
      }
      tr.pending,
      tr.confirming {
        background: var(--hub-warning-bg, #fff8c5);
      }
      .value {
        font-variant-numeric: tabular-nums;
      }
      .value small {
        display: block;
        color: var(--hub-text-muted, #57606a);
      }
      .status {
        font-size: 0.8rem;
        font-weight: 600;
        white-space: nowrap;
      }
      tr.pending .status,
      tr.confirming .status {
        color: var(--hub-warning, #9a6700);
      }
      tr.in-sync .status {
        color: var(--hub-text-muted, #57606a);
      }
      form {
        display: flex;
        flex-wrap: wrap;
        gap: 0.4rem;
        align-items: center;
      }
      input[type='number'] {
        width: 7rem;
      }
      input[type='text'] {
        width: 9rem;
      }
      button {
        font-size: 0.82rem;
        padding: 0.2rem 0.55rem;
      }
      .table-wrap {
        overflow-x: auto;
      }
      .key-status {
        display: none;
        font-family: var(--hub-font, system-ui, sans-serif);
        font-size: 0.75rem;
        font-weight: 600;
        color: var(--hub-warning, #9a6700);
      }
      @media (max-width: 560px) {
        .status {
          display: none;
        }
        .key-status {
          display: block;
        }
        th,
        td {
          padding-inline: 0.35rem;
        }
      }
    `,
  ];

  @property({ attribute: false }) view: DeviceStateView | null = null;
  @property({ attribute: false }) capabilities: Capabilities | null = null;
  @property() status: LoadStatus = 'loading';
  @property() error: string | null = null;
  @property({ attribute: false }) edit: DesiredEdit | null = null;
  @property({ attribute: false }) now = Date.now();

  /** The key whose desired value is being edited, and the draft value. */
  @state() private editing: { key: string; raw: string | boolean } | null = null;
  @state() private problem = '';

  override render() {
    const view = this.view;
    const pending = view ? pendingCount(view) : 0;
    return html`<section class="panel" aria-labelledby="state-title">
      <div class="panel-head">
        <h3 id="state-title">Desired and reported state</h3>
        ${view
          ? html`<span class="hint" data-pending=${pending}
              >${pending === 0 ? 'in sync' : `${pending} pending`} · desired version ${view.version}${view.reportedVersion === null ? '' : `, device applied ${view.reportedVersion}`}</span
            >`
          : nothing}
      </div>
      ${this.renderBody(view)}
    </section>`;
  }

  private renderBody(view: DeviceStateView | null) {
    if (!view) {
      if (this.status === 'error') {
        return html`<p class="error" role="alert">
          Could not load the state: ${this.error}
          <button type="button" @click=${() => this.dispatchEvent(new CustomEvent('state-retry', { bubbles: true, composed: true }))}>Retry</button>
        </p>`;
      }
      return html`<div class="empty" role="status">Loading state…</div>`;
    }
    const rows = stateRows(view);
    if (rows.length === 0) return html`<div class="empty">The device has reported no state yet.</div>`;
    const edit = this.edit;
    return html`${edit?.status === 'error' ? html`<p class="error" role="alert">${edit.key}: ${edit.error}</p>` : nothing}
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Reported</th>
              <th scope="col">Desired</th>
              <th scope="col" class="status">Status</th>
              <th scope="col"><span class="visually-hidden">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            ${repeat(rows, (row) => row.key, (row) => this.renderRow(row))}
          </tbody>
        </table>
      </div>`;
  }

  private renderRow(row: StateRow) {
    const saving = this.edit?.key === row.key && this.edit.status === 'saving';
    return html`<tr class=${row.status} data-key=${row.key} data-status=${row.status}>
      <th scope="row">
        ${row.key}${row.status === 'in-sync' ? nothing : html`<small class="key-status">${STATUS_LABELS[row.status]}</small>`}
      </th>
      <td class="value" data-reported>
        ${formatStateValue(row.reported?.value)}
        ${row.reported ? html`<small class="when">${formatRelativeTime(row.reported.ts, this.now)}</small>` : nothing}
      </td>
      <td class="value" data-desired>
        ${this.editing?.key === row.key ? this.renderEditor(row) : formatStateValue(row.desired?.value)}
        ${row.desired && this.editing?.key !== row.key ? html`<small class="when">set ${formatRelativeTime(row.desired.ts, this.now)}</small>` : nothing}
      </td>
      <td class="status" title=${STATUS_HINTS[row.status]}>${saving ? 'Saving…' : STATUS_LABELS[row.status]}</td>
      <td>
        ${this.editing?.key === row.key
          ? nothing
          : html`<button type="button" ?disabled=${saving} aria-label=${`Set desired ${row.key}`} @click=${() => this.startEdit(row)}>Set…</button>
              ${row.desired
                ? html`<button type="button" ?disabled=${saving} aria-label=${`Clear desired ${row.key}`} @click=${() => this.emit(row.key, null)}>Clear</button>`
                : nothing}`}
      </td>
    </tr>`;
  }

  private renderEditor(row: StateRow) {
    const field = this.fieldFor(row);
    const raw = this.editing?.raw ?? '';
    const id = `edit-${row.key}`;
    const label = html`<label class="visually-hidden" for=${id}>Desired ${row.key}</label>`;
    let input;
    if (field.widget === 'toggle') {
      input = html`<select id=${id} @change=${(e: Event) => this.setRaw((e.target as HTMLSelectElement).value === 'true')}>
        <option value="true" ?selected=${raw === true}>on</option>
        <option value="false" ?selected=${raw === false}>off</option>
      </select>`;
    } else if (field.widget === 'select') {
      input = html`<select id=${id} @change=${(e: Event) => this.setRaw((e.target as HTMLSelectElement).value)}>
        ${(field.options ?? []).map((option) => html`<option value=${option} ?selected=${option === raw}>${option}</option>`)}
      </select>`;
    } else {
      const numeric = field.type === 'number' || field.type === 'integer';
      input = html`<input
        id=${id}
        type=${numeric ? 'number' : 'text'}
        min=${field.min ?? nothing}
        max=${field.max ?? nothing}
        step=${field.step ?? nothing}
        .value=${String(raw)}
        aria-invalid=${this.problem ? 'true' : 'false'}
        @input=${(e: Event) => this.setRaw((e.target as HTMLInputElement).value)}
      />`;
    }
    return html`<form @submit=${(e: SubmitEvent) => this.save(e, row)} @keydown=${(e: KeyboardEvent) => e.key === 'Escape' && this.cancelEdit()}>
      ${label}${input}${field.unit ? html`<span class="muted">${field.unit}</span>` : nothing}
      <button class="primary" type="submit">Save</button>
      <button type="button" @click=${this.cancelEdit}>Cancel</button>
      ${this.problem ? html`<span class="error" role="alert">${this.problem}</span>` : nothing}
    </form>`;
  }

  private fieldFor(row: StateRow): FieldSpec {
    return stateFieldFor(row.key, this.capabilities, row.desired?.value ?? row.reported?.value);
  }

  private startEdit(row: StateRow): void {
    const current = row.desired?.value ?? row.reported?.value;
    const field = this.fieldFor(row);
    const raw = field.widget === 'toggle' ? current === true : field.widget === 'select' ? String(current ?? field.options?.[0] ?? '') : current === undefined || current === null ? '' : String(current);
    this.problem = '';
    this.editing = { key: row.key, raw };
    void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLElement>(`#edit-${CSS.escape(row.key)}`)?.focus());
  }

  private setRaw(raw: string | boolean): void {
    if (this.editing) this.editing = { ...this.editing, raw };
    this.problem = '';
  }

  private readonly cancelEdit = (): void => {
    this.editing = null;
    this.problem = '';
  };

  private save(event: SubmitEvent, row: StateRow): void {
    event.preventDefault();
    const field = this.fieldFor(row);
    const parsed = parseField(field, this.editing?.raw ?? '');
    if (parsed.error !== undefined) {
      this.problem = parsed.error;
      return;
    }
    const value = parsed.value as StateValue;
    if (typeof value === 'number' && ((field.min !== undefined && value < field.min) || (field.max !== undefined && value > field.max))) {
      this.problem = `must be between ${field.min ?? '−∞'} and ${field.max ?? '∞'}`;
      return;
    }
    this.editing = null;
    this.emit(row.key, value);
  }

  private emit(key: string, value: StateValue): void {
    this.dispatchEvent(new CustomEvent<SetDesiredDetail>('set-desired', { detail: { key, value }, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'state-table': StateTable;
  }
}
