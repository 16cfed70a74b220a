/**
 * <state-table>: desired vs reported state, one row per key, refused and
 * pending keys first [FP-4.3]. A key is in sync only when the device
 * reports the desired value; a desired value the device refused shows the
 * device's reason instead of waiting forever. "Set…" edits a key in place,
 * with the widget its declaration asks for (enum select, number with
 * range and unit, on/off, text), checked as the hub will check it; when
 * the device declared state keys, only settable ones offer it. "Remove"
 * stops enforcing a key (sends `null`). Each edit is conditional on the
 * desired version shown, so two operators cannot overwrite each other
 * unknowingly. Fires `set-desired` with `{key, value}` and `state-retry`.
 */
import type { Capabilities, DeviceStateView, StateValue } from '@iot-hub/protocol';
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { desiredEditValue, stateFieldFor, type FieldSpec, type RawValue } from '../data/controls.js';
import type { DesiredEdit, LoadStatus } from '../data/device-detail.js';
import { formatStateValue, formatSummary, stateRows, stateSummary, type StateRow, type StateRowStatus } from '../data/device-state.js';
import { formatRelativeTime } from '../format.js';
import { baseStyles, panelStyles } from './shared-styles.js';

export interface SetDesiredDetail {
  key: string;
  value: StateValue;
}

const STATUS_LABELS: Record<StateRowStatus, string> = {
  'in-sync': 'In sync',
  pending: 'Pending',
  refused: 'Refused by the device',
  reported: 'Reported only',
  declared: 'Not reported yet',
};

const STATUS_HINTS: Record<StateRowStatus, string> = {
  'in-sync': 'the device reports the desired value',
  pending: 'the device does not report the desired value yet; the hub sends it again on every connect and when the device drifts from it',
  refused: 'the device cannot apply the desired value; change or remove it',
  reported: 'no desired value: the device decides',
  declared: 'declared by the device, not reported yet',
};

/** Statuses that ask for the operator's attention: marked in the row and beside the key on narrow screens. */
const NOTABLE = new Set<StateRowStatus>(['pending', 'refused']);

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
      tr.pending {
        background: var(--hub-warning-bg, #fff8c5);
      }
      tr.refused {
        background: var(--hub-offline-bg, #ffebe9);
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
      tr.pending .key-status {
        color: var(--hub-warning, #9a6700);
      }
      tr.refused .status,
      tr.refused .key-status {
        color: var(--hub-offline, #cf222e);
        white-space: normal;
      }
      .status .reason {
        display: block;
        font-weight: 400;
        overflow-wrap: anywhere;
      }
      .status .when {
        display: block;
        font-weight: 400;
        color: var(--hub-text-muted, #57606a);
      }
      tr.in-sync .status,
      tr.reported .status,
      tr.declared .status {
        color: var(--hub-text-muted, #57606a);
      }
      .actions {
        white-space: nowrap;
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
  /** A viewer: the actions are shown, disabled, with the reason (the hub would answer 403). */
  @property({ type: Boolean }) readOnly = false;
  /** The hub cannot be reached: nothing can be set; the reason is shown once above the table. */
  @property({ type: Boolean }) unreachable = false;

  /** The key whose desired value is being edited, and the draft value. */
  @state() private editing: { key: string; raw: RawValue } | null = null;
  @state() private problem = '';
  /** The last draft saved: reopened with the hub's reason if the hub refuses it. */
  private submitted: { key: string; raw: RawValue } | null = null;

  override willUpdate(changed: PropertyValues<this>): void {
    const edit = this.edit;
    if (changed.has('edit') && edit?.status === 'error' && this.submitted?.key === edit.key) {
      // The hub refused the value (422 invalid_desired, too_large_for_device, a version conflict): the draft comes back with its words.
      this.editing = this.submitted;
      this.problem = edit.error;
      this.submitted = null;
    }
  }

  override render() {
    const view = this.view;
    const rows = view ? stateRows(view, this.capabilities) : [];
    const summary = stateSummary(rows);
    return html`<section class="panel" aria-labelledby="state-title">
      <div class="panel-head">
        <h3 id="state-title">Desired and reported state</h3>
        ${view
          ? html`<span class="hint" data-pending=${summary.pending} data-refused=${summary.refused}
              >${formatSummary(summary)} · desired version ${view.version}${view.reportedVersion === null ? '' : `, device applied ${view.reportedVersion}`}</span
            >`
          : nothing}
      </div>
      ${this.readOnly && rows.length > 0 ? html`<p class="hint read-only">Your role can look, not change desired state: ask an operator.</p>` : nothing}
      ${this.unreachable && !this.readOnly && rows.length > 0
        ? html`<p class="hint read-only" data-blocked>The hub is unreachable: desired state can be changed once it is back.</p>`
        : nothing}
      ${this.renderBody(view, rows)}
    </section>`;
  }

  private renderBody(view: DeviceStateView | null, rows: StateRow[]) {
    if (!view) {
      if (this.status === 'error') {
        return html`<p class="error" role="alert">
          Could not load the state: ${this.error}
          <button type="button" @click=${() => this.dispatchEvent(new CustomEvent('state-retry', { bubbles: true, composed: true }))}>Retry</button>
        </p>`;
      }
      return html`<div class="empty" role="status">Loading state…</div>`;
    }
    if (rows.length === 0) return html`<div class="empty">The device has reported no state yet.</div>`;
    return html`<div class="table-wrap">
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
    const edit = this.edit?.key === row.key ? this.edit : null;
    const saving = edit?.status === 'saving';
    const editing = this.editing?.key === row.key;
    const unit = row.spec?.unit;
    return html`<tr class=${row.status} data-key=${row.key} data-status=${row.status}>
      <th scope="row" title=${row.spec?.description ?? nothing}>
        ${row.key}${NOTABLE.has(row.status) ? html`<small class="key-status">${STATUS_LABELS[row.status]}</small>` : nothing}
      </th>
      <td class="value" data-reported>
        ${formatStateValue(row.reported?.value, unit)}
        ${row.reported ? html`<small class="when">${formatRelativeTime(row.reported.ts, this.now)}</small>` : nothing}
      </td>
      <td class="value" data-desired>
        ${editing ? this.renderEditor(row) : formatStateValue(row.desired?.value, unit)}
        ${row.desired && !editing ? html`<small class="when">set ${formatRelativeTime(row.desired.ts, this.now)}</small>` : nothing}
        ${edit?.status === 'error' && !editing ? html`<p class="error" role="alert" data-edit-error>${edit.error}</p>` : nothing}
      </td>
      <td class="status" title=${STATUS_HINTS[row.status]} data-status-text>
        ${saving ? 'Saving…' : this.renderStatus(row)}
      </td>
      <td class="actions">
        ${editing
          ? nothing
          : html`${row.settable
              ? // Not disabled while saving: focus returns here from the editor, and a disabled button drops it.
                html`<button
                  type="button"
                  ?disabled=${this.readOnly || this.unreachable}
                  aria-disabled=${saving ? 'true' : 'false'}
                  aria-label=${`Set desired ${row.key}`}
                  @click=${() => saving || this.startEdit(row)}
                >
                  Set…
                </button>`
              : nothing}
            ${row.desired
              ? html`<button
                  type="button"
                  ?disabled=${saving || this.readOnly || this.unreachable}
                  aria-label=${`Remove desired ${row.key}`}
                  title="Stop enforcing this key: remove its desired value (the device keeps what it has)"
                  @click=${() => this.removeDesired(row.key)}
                >
                  Remove
                </button>`
              : nothing}`}
      </td>
    </tr>`;
  }

  private renderStatus(row: StateRow) {
    if (row.status === 'refused' && row.refused) {
      return html`${STATUS_LABELS.refused}:<span class="reason" data-refused-reason>${row.refused.reason}</span
        ><small class="when">${formatRelativeTime(row.refused.ts, this.now)}</small>`;
    }
    return STATUS_LABELS[row.status];
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
        aria-describedby=${this.problem ? `${id}-problem` : nothing}
        @input=${(e: Event) => this.setRaw((e.target as HTMLInputElement).value)}
      />`;
    }
    // novalidate: the browser's own range bubble would stop the submit before our check, which speaks the hub's words.
    return html`<form novalidate @submit=${(e: SubmitEvent) => this.save(e, row)} @keydown=${(e: KeyboardEvent) => e.key === 'Escape' && this.cancelEdit()}>
      ${label}${input}${field.unit ? html`<span class="muted" data-unit>${field.unit}</span>` : nothing}
      <button class="primary" type="submit">Save</button>
      <button type="button" @click=${this.cancelEdit}>Cancel</button>
      ${this.problem ? html`<span class="error" role="alert" id=${`${id}-problem`} data-problem>${this.problem}</span>` : nothing}
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

  private setRaw(raw: RawValue): void {
    if (this.editing) this.editing = { ...this.editing, raw };
    this.problem = '';
  }

  private readonly cancelEdit = (): void => {
    const key = this.editing?.key;
    this.editing = null;
    this.problem = '';
    if (key !== undefined) this.focusOpener(key);
  };

  /** The editor is gone: focus returns to the Set… button that opened it, not to the top of the page. */
  private focusOpener(key: string): void {
    void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLElement>(`tr[data-key="${CSS.escape(key)}"] td.actions button`)?.focus());
  }

  private save(event: SubmitEvent, row: StateRow): void {
    event.preventDefault();
    const editing = this.editing;
    if (!editing) return;
    const result = desiredEditValue(row.key, this.fieldFor(row), editing.raw, this.capabilities);
    if ('error' in result) {
      this.problem = result.error;
      return;
    }
    this.submitted = editing;
    this.editing = null;
    this.focusOpener(row.key);
    this.emit(row.key, result.value);
  }

  private removeDesired(key: string): void {
    // A refusal of the removal is not about a draft: it shows in the row.
    this.submitted = null;
    this.emit(key, null);
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
