/**
 * <device-controls>: the controls generated from the device's declared
 * commands (data/controls.ts), each with inline feedback on the command it
 * sent: sending, refused (and why), then the command's own state as it
 * changes live (queued, sent, acknowledged, succeeded, failed, timed out).
 * Fires `send-command` with `{key, name, params}`; the device page sends it.
 *
 * A widget shows what the operator chose (a draft) until the command sent
 * from it ended: after a success, until the device reports anew; after a
 * failure, timeout or expiry it rolls back to what the device reports.
 */
import { isFinalCommandState, type Capabilities, type CommandView, type LatestValue, type StateEntry } from '@iot-hub/protocol';
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { commandStateHint, commandStateLabel, formatElapsed } from '../data/command-timeline.js';
import { buildParams, controlsFor, initialValue, lastCommandOf, switchValue, type ControlSpec, type FieldSpec, type RawValue } from '../data/controls.js';
import type { SendStatus } from '../data/device-detail.js';
import { baseStyles, commandStateStyles, panelStyles } from './shared-styles.js';

export interface SendCommandDetail {
  key: string;
  name: string;
  params: Record<string, unknown>;
}

interface Draft {
  values: Record<string, RawValue>;
  /** Sent as it is now; edited since (or never sent) drafts stay until the operator sends them. */
  sent: boolean;
}

/** Sliders send once the operator stops moving them (keyboard arrows fire a change per step). */
const SLIDER_SEND_DELAY_MS = 350;

function fieldId(key: string, name: string): string {
  return `f-${key}-${name}`.replace(/[^A-Za-z0-9_-]/g, '_');
}

@customElement('device-controls')
export class DeviceControls extends LitElement {
  static override styles = [
    baseStyles,
    panelStyles,
    commandStateStyles,
    css`
      fieldset.controls-set {
        border: 0;
        margin: 0;
        padding: 0;
        min-width: 0;
      }
      ul.controls {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        gap: 0.25rem;
      }
      li.control {
        display: grid;
        grid-template-columns: minmax(8rem, 1fr) minmax(0, 1.6fr);
        gap: 0.2rem 1rem;
        align-items: center;
        padding: 0.6rem 0;
        border-top: 1px solid var(--hub-border, #d0d7de);
      }
      li.control:first-child {
        border-top: 0;
      }
      .title {
        display: grid;
        gap: 0.1rem;
      }
      .title .label {
        font-weight: 600;
      }
      .widget {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem;
      }
      .widget label {
        font-size: 0.85rem;
        color: var(--hub-text-muted, #57606a);
      }
      .feedback {
        grid-column: 2;
        font-size: 0.82rem;
        display: flex;
        flex-wrap: wrap;
        gap: 0.4rem;
        align-items: center;
      }
      input[type='range'] {
        flex: 1 1 8rem;
        accent-color: var(--hub-accent, #2563eb);
        padding: 0;
        background: none;
        border: 0;
      }
      input[type='number'] {
        width: 7rem;
      }
      output {
        font-variant-numeric: tabular-nums;
        min-width: 3.5em;
      }
      button[role='switch'] {
        display: inline-flex;
        align-items: center;
        gap: 0.5rem;
        padding: 0.25rem 0.6rem 0.25rem 0.35rem;
        border-radius: 999px;
      }
      .track {
        width: 2.4rem;
        height: 1.35rem;
        border-radius: 999px;
        background: var(--hub-unknown-bg, #eaeef2);
        border: 1px solid var(--hub-border, #d0d7de);
        position: relative;
        transition: background 0.15s;
      }
      .thumb {
        position: absolute;
        top: 2px;
        left: 2px;
        width: calc(1.35rem - 6px);
        height: calc(1.35rem - 6px);
        border-radius: 50%;
        background: var(--hub-text-muted, #57606a);
        transition: transform 0.15s;
      }
      button[aria-checked='true'] .track {
        background: var(--hub-accent, #2563eb);
        border-color: var(--hub-accent, #2563eb);
      }
      button[aria-checked='true'] .thumb {
        transform: translateX(1.05rem);
        background: var(--hub-on-accent, #fff);
      }
      button[data-pending] .track {
        opacity: 0.65;
      }
      @media (prefers-reduced-motion: reduce) {
        .track,
        .thumb {
          transition: none;
        }
      }
      @media (max-width: 560px) {
        li.control {
          grid-template-columns: minmax(0, 1fr);
        }
        .feedback {
          grid-column: 1;
        }
      }
    `,
  ];

  @property({ attribute: false }) capabilities: Capabilities | null = null;
  @property({ attribute: false }) reported: Readonly<Record<string, StateEntry>> = {};
  @property({ attribute: false }) latest: Readonly<Record<string, LatestValue>> = {};
  /** The timeline, newest first. */
  @property({ attribute: false }) commands: readonly CommandView[] = [];
  @property({ attribute: false }) commandsById: ReadonlyMap<string, CommandView> = new Map();
  @property({ attribute: false }) sends: ReadonlyMap<string, SendStatus> = new Map();
  @property({ type: Boolean }) online = false;
  /** A viewer looks but does not command: every control is disabled (the hub would refuse with 403). */
  @property({ type: Boolean }) readOnly = false;

  @state() private drafts = new Map<string, Draft>();
  @state() private problems = new Map<string, string>();

  private controls: ControlSpec[] = [];
  private readonly sliderTimers = new Map<string, ReturnType<typeof setTimeout>>();

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    for (const timer of this.sliderTimers.values()) clearTimeout(timer);
    this.sliderTimers.clear();
  }

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('capabilities') || changed.has('reported')) this.controls = controlsFor(this.capabilities, this.reported);
    this.dropStaleDrafts();
  }

  override render() {
    const commands = this.capabilities ? Object.keys(this.capabilities.commands) : null;
    return html`<section class="panel" aria-labelledby="controls-title">
      <div class="panel-head">
        <h3 id="controls-title">Controls</h3>
        ${commands && commands.length > 0 && !this.online
          ? html`<span class="hint">Offline: commands wait in its queue until it reconnects, or expire.</span>`
          : nothing}
      </div>
      ${commands === null
        ? html`<div class="empty">This device has not said what it can do yet: its controls appear once it connects and declares its commands.</div>`
        : commands.length === 0
          ? html`<div class="empty">This device declares no commands: it only reports.</div>`
          : html`${this.readOnly ? html`<p class="hint read-only">Your role can look, not command: ask an operator.</p>` : nothing}
              <fieldset class="controls-set" ?disabled=${this.readOnly}>
                <ul class="controls">
                  ${repeat(this.controls, (control) => control.key, (control) => this.renderControl(control))}
                </ul>
              </fieldset>`}
    </section>`;
  }

  private renderControl(control: ControlSpec) {
    return html`<li class="control" data-control=${control.key}>
      <div class="title">
        <span class="label" id=${`l-${fieldId(control.key, '')}`}>${control.label}</span>
        ${control.description ? html`<span class="hint">${control.description}</span>` : nothing}
      </div>
      <div class="widget">${this.renderWidget(control)}</div>
      <div class="feedback" id=${`fb-${fieldId(control.key, '')}`} role="status" aria-live="polite">${this.renderFeedback(control.key)}</div>
    </li>`;
  }

  private renderWidget(control: ControlSpec) {
    const labelledBy = `l-${fieldId(control.key, '')}`;
    const describedBy = `fb-${fieldId(control.key, '')}`;
    const busy = this.sends.get(control.key)?.status === 'posting';
    switch (control.kind) {
      case 'switch': {
        const { on, pending } = switchValue(control, this.reported, this.latest, lastCommandOf(this.commands, [control.onCommand, control.offCommand]));
        return html`<button
          type="button"
          role="switch"
          aria-checked=${on === true ? 'true' : 'false'}
          aria-labelledby=${labelledBy}
          aria-describedby=${describedBy}
          ?data-pending=${pending || busy}
          ?disabled=${busy}
          @click=${() => this.send(control.key, on === true ? control.offCommand : control.onCommand, {})}
        >
          <span class="track" aria-hidden="true"><span class="thumb"></span></span>
          <span>${on === null ? 'Unknown' : on ? 'On' : 'Off'}${pending ? '…' : ''}</span>
        </button>`;
      }
      case 'button':
        return html`<button type="button" aria-describedby=${describedBy} ?disabled=${busy} @click=${() => this.send(control.key, control.command, {})}>
          ${control.label}
        </button>`;
      case 'field':
        return this.renderField(control, control.field, labelledBy, describedBy, busy);
      case 'form':
        return html`<form class="widget" @submit=${(event: SubmitEvent) => this.submitForm(event, control)} aria-labelledby=${labelledBy} novalidate>
          ${control.fields.map((field) => this.renderInput(control.key, field, describedBy))}
          <button type="submit" ?disabled=${busy}>${control.label}</button>
        </form>`;
    }
  }

  private renderField(control: Extract<ControlSpec, { kind: 'field' }>, field: FieldSpec, labelledBy: string, describedBy: string, busy: boolean) {
    const value = this.fieldValue(control.key, field);
    const id = fieldId(control.key, field.name);
    switch (field.widget) {
      case 'toggle':
        return html`<button
          type="button"
          role="switch"
          aria-checked=${value === true ? 'true' : 'false'}
          aria-labelledby=${labelledBy}
          aria-describedby=${describedBy}
          ?disabled=${busy}
          @click=${() => this.change(control, field, value !== true, true)}
        >
          <span class="track" aria-hidden="true"><span class="thumb"></span></span><span>${value === true ? 'On' : 'Off'}</span>
        </button>`;
      case 'select':
        return html`<label for=${id}>${field.label}</label>
          <select id=${id} aria-describedby=${describedBy} ?disabled=${busy} @change=${(e: Event) => this.change(control, field, (e.target as HTMLSelectElement).value, true)}>
            ${(field.options ?? []).map((option) => html`<option value=${option} ?selected=${option === value}>${option}</option>`)}
          </select>`;
      case 'slider':
        return html`<label for=${id}>${field.label}</label>
          <input
            id=${id}
            type="range"
            min=${field.min ?? 0}
            max=${field.max ?? 100}
            step=${field.step ?? 1}
            .value=${String(value)}
            aria-describedby=${describedBy}
            aria-valuetext=${`${value}${field.unit ?? ''}`}
            @input=${(e: Event) => this.change(control, field, Number((e.target as HTMLInputElement).value), false)}
            @change=${(e: Event) => this.slide(control, field, Number((e.target as HTMLInputElement).value))}
          />
          <output for=${id}>${value}${field.unit ?? ''}</output>`;
      default:
        return html`<form class="widget" @submit=${(event: SubmitEvent) => this.submitForm(event, control)} aria-labelledby=${labelledBy} novalidate>
          ${this.renderInput(control.key, field, describedBy)}
          <button type="submit" ?disabled=${busy}>Set</button>
        </form>`;
    }
  }

  /** An input inside a form: number, text, select or checkbox; sent with the form. */
  private renderInput(key: string, field: FieldSpec, describedBy: string) {
    const id = fieldId(key, field.name);
    const value = this.fieldValue(key, field);
    const invalid = this.problems.has(key);
    const label = html`<label for=${id}>${field.label}${field.unit ? ` (${field.unit})` : ''}${field.required ? '' : ' (optional)'}</label>`;
    const onInput = (raw: RawValue) => this.setDraft(key, field.name, raw);
    if (field.widget === 'select') {
      return html`${label}<select id=${id} @change=${(e: Event) => onInput((e.target as HTMLSelectElement).value)}>
          ${field.required ? nothing : html`<option value="" ?selected=${value === ''}>—</option>`}
          ${(field.options ?? []).map((option) => html`<option value=${option} ?selected=${option === value}>${option}</option>`)}
        </select>`;
    }
    if (field.widget === 'toggle') {
      return html`<input id=${id} type="checkbox" .checked=${value === true} @change=${(e: Event) => onInput((e.target as HTMLInputElement).checked)} />${label}`;
    }
    const numeric = field.widget === 'number' || field.widget === 'slider';
    return html`${label}<input
        id=${id}
        type=${numeric ? 'number' : 'text'}
        inputmode=${numeric ? 'decimal' : 'text'}
        min=${field.min ?? nothing}
        max=${field.max ?? nothing}
        step=${field.step ?? nothing}
        ?required=${field.required}
        .value=${String(value)}
        aria-invalid=${invalid ? 'true' : 'false'}
        aria-describedby=${describedBy}
        @input=${(e: Event) => onInput((e.target as HTMLInputElement).value)}
      />`;
  }

  private renderFeedback(key: string) {
    const problem = this.problems.get(key);
    if (problem) return html`<span class="error">${problem}</span>`;
    const send = this.sends.get(key);
    if (!send) return nothing;
    if (send.status === 'posting') return html`<span class="state posting" data-state="posting">Sending…</span>`;
    if (send.status === 'refused') return html`<span class="state refused" data-state="refused">Refused</span><span class="error">${send.error}</span>`;
    const command = this.commandsById.get(send.commandId);
    if (!command) return html`<span class="state queued" data-state="queued">Queued</span>`;
    const ended = isFinalCommandState(command.state);
    return html`<span class="state ${command.state}" data-state=${command.state} title=${commandStateHint(command)}>${commandStateLabel(command.state)}</span>
      <span class="muted">${ended ? `${formatElapsed(command.updatedAt - command.createdAt)}` : commandStateHint(command)}</span>
      ${command.state !== 'succeeded' && ended && command.error ? html`<span class="error">${command.error}</span>` : nothing}`;
  }

  /** The draft value while there is one, else what the device reports. */
  private fieldValue(key: string, field: FieldSpec): RawValue {
    const draft = this.drafts.get(key)?.values[field.name];
    return draft !== undefined ? draft : initialValue(field, this.reported, this.latest);
  }

  /** Newest time of the device's own values for the fields of a control. */
  private baseTs(names: readonly string[]): number {
    let ts = 0;
    for (const name of names) ts = Math.max(ts, this.reported[name]?.ts ?? 0, this.latest[name]?.ts ?? 0);
    return ts;
  }

  private setDraft(key: string, name: string, raw: RawValue): void {
    const drafts = new Map(this.drafts);
    drafts.set(key, { values: { ...drafts.get(key)?.values, [name]: raw }, sent: false });
    this.drafts = drafts;
    if (this.problems.has(key)) {
      const problems = new Map(this.problems);
      problems.delete(key);
      this.problems = problems;
    }
  }

  /**
   * A sent draft gives way once its command ended: at once if it did not
   * succeed (roll back), after a success once the device reported anew. A
   * refused one stays, beside the reason, for the operator to correct.
   */
  private dropStaleDrafts(): void {
    let drafts: Map<string, Draft> | null = null;
    for (const [key, draft] of this.drafts) {
      const send = this.sends.get(key);
      if (!draft.sent || send?.status !== 'accepted') continue;
      const command = this.commandsById.get(send.commandId);
      if (!command || !isFinalCommandState(command.state)) continue;
      if (command.state !== 'succeeded' || this.baseTs(Object.keys(draft.values)) > command.updatedAt) {
        drafts ??= new Map(this.drafts);
        drafts.delete(key);
      }
    }
    if (drafts) this.drafts = drafts;
  }

  private markSent(key: string): void {
    const draft = this.drafts.get(key);
    if (!draft || draft.sent) return;
    this.drafts = new Map(this.drafts).set(key, { ...draft, sent: true });
  }

  /** A widget that acts at once (toggle, select, slider): `send` false only shows the value while a slider moves. */
  private change(control: Extract<ControlSpec, { kind: 'field' }>, field: FieldSpec, raw: RawValue, send: boolean): void {
    this.setDraft(control.key, field.name, raw);
    if (send) this.sendFields(control.key, control.command, [field], { [field.name]: raw });
  }

  private slide(control: Extract<ControlSpec, { kind: 'field' }>, field: FieldSpec, value: number): void {
    this.setDraft(control.key, field.name, value);
    clearTimeout(this.sliderTimers.get(control.key));
    this.sliderTimers.set(
      control.key,
      setTimeout(() => {
        this.sliderTimers.delete(control.key);
        this.sendFields(control.key, control.command, [field], { [field.name]: value });
      }, SLIDER_SEND_DELAY_MS),
    );
  }

  private submitForm(event: SubmitEvent, control: Extract<ControlSpec, { kind: 'field' | 'form' }>): void {
    event.preventDefault();
    const fields = control.kind === 'field' ? [control.field] : control.fields;
    const raw: Record<string, RawValue> = {};
    for (const field of fields) raw[field.name] = this.fieldValue(control.key, field);
    this.sendFields(control.key, control.command, fields, raw);
  }

  private sendFields(key: string, name: string, fields: readonly FieldSpec[], raw: Record<string, RawValue>): void {
    if (!this.capabilities) return;
    const built = buildParams(this.capabilities, name, fields, raw);
    const problems = new Map(this.problems);
    if ('error' in built) {
      problems.set(key, built.error);
      this.problems = problems;
      return;
    }
    problems.delete(key);
    this.problems = problems;
    this.markSent(key);
    this.send(key, name, built.params);
  }

  private send(key: string, name: string, params: Record<string, unknown>): void {
    this.dispatchEvent(new CustomEvent<SendCommandDetail>('send-command', { detail: { key, name, params }, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'device-controls': DeviceControls;
  }
}
