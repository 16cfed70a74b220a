/**
 * <device-controls>: the controls generated from the device's declared
 * commands (data/controls.ts), each with inline feedback on the command it
 * sent: sending, refused (and why), then the command's own state as it
 * changes live (queued, sent, acknowledged, succeeded, failed, timed out).
 * Fires `send-command` with `{key, name, params}`; the device page sends it.
 *
 * A widget shows the device's own value. What the operator chose (a draft)
 * is shown instead, marked pending, while the command sent from it runs;
 * after a success it stays until the device reports anew; after a refusal,
 * failure, timeout or expiry a widget that acts at once (toggle, select,
 * slider) snaps back to what the device reports. A form keeps a refused
 * draft beside the reason, for the operator to correct.
 *
 * Keyboard: a control keeps focus while its command runs (it is marked
 * aria-disabled, never disabled, which would drop focus to the page), and a
 * select browsed with the arrow keys sends only on Enter (Escape or leaving
 * it puts back the device's value). While the hub is unreachable every
 * control is disabled, with the reason.
 */
import { isFinalCommandState, type Capabilities, type CommandView, type LatestValue, type StateEntry } from '@iot-hub/protocol';
import { LitElement, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { commandStateHint, commandStateLabel, formatElapsed } from '../data/command-timeline.js';
import { buildParams, controlsFor, initialValue, lastCommandOf, switchValue, type ControlSpec, type FieldSpec, type RawValue } from '../data/controls.js';
import type { SendStatus } from '../data/device-detail.js';
import { deviceControlsStyles } from './device-controls-styles.js';
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
  /** The send status when it was sent: an outcome is this draft's only once the status is another object. */
  sentOver?: SendStatus | undefined;
}

/** Keys that move a closed select's choice without confirming it. */
const BROWSE_KEYS = new Set(['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Home', 'End', 'PageUp', 'PageDown']);

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
    deviceControlsStyles,
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
  /** The hub cannot be reached: nothing can be sent, every control is disabled with the reason. */
  @property({ type: Boolean }) unreachable = false;

  @state() private drafts = new Map<string, Draft>();
  @state() private problems = new Map<string, string>();

  private controls: ControlSpec[] = [];
  private readonly sliderTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Selects whose choice was moved by arrow keys and awaits Enter. */
  private readonly browsing = new Set<string>();

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
        ${commands && commands.length > 0 && !this.online && !this.unreachable
          ? html`<span class="hint">Offline: commands wait in its queue until it reconnects, or expire.</span>`
          : nothing}
      </div>
      ${commands === null
        ? html`<div class="empty">This device has not said what it can do yet: its controls appear once it connects and declares its commands.</div>`
        : commands.length === 0
          ? html`<div class="empty">This device declares no commands: it only reports.</div>`
          : html`${this.readOnly ? html`<p class="hint read-only">Your role can look, not command: ask an operator.</p>` : nothing}
              ${this.unreachable && !this.readOnly
                ? html`<p class="hint read-only" data-blocked>The hub is unreachable: commands cannot be sent until it is back.</p>`
                : nothing}
              <fieldset class="controls-set" ?disabled=${this.readOnly || this.unreachable}>
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
          aria-disabled=${busy ? 'true' : 'false'}
          @click=${() => this.send(control.key, on === true ? control.offCommand : control.onCommand, {})}
        >
          <span class="track" aria-hidden="true"><span class="thumb"></span></span>
          <span>${on === null ? 'Unknown' : on ? 'On' : 'Off'}${pending ? '…' : ''}</span>
        </button>`;
      }
      case 'button':
        return html`<button type="button" aria-describedby=${describedBy} aria-disabled=${busy ? 'true' : 'false'} @click=${() => this.send(control.key, control.command, {})}>
          ${control.label}
        </button>`;
      case 'field':
        return this.renderField(control, control.field, labelledBy, describedBy, busy);
      case 'form':
        return html`<form class="widget" @submit=${(event: SubmitEvent) => this.submitForm(event, control)} aria-labelledby=${labelledBy} novalidate>
          ${control.fields.map((field) => this.renderInput(control.key, field, describedBy))}
          <button type="submit" aria-disabled=${busy ? 'true' : 'false'}>${control.label}</button>
        </form>`;
    }
  }

  private renderField(control: Extract<ControlSpec, { kind: 'field' }>, field: FieldSpec, labelledBy: string, describedBy: string, busy: boolean) {
    const value = this.fieldValue(control.key, field);
    const id = fieldId(control.key, field.name);
    const pending = this.pendingChoice(control.key);
    switch (field.widget) {
      case 'toggle':
        return html`<button
          type="button"
          role="switch"
          aria-checked=${value === true ? 'true' : 'false'}
          aria-labelledby=${labelledBy}
          aria-describedby=${describedBy}
          aria-disabled=${busy ? 'true' : 'false'}
          ?data-pending=${pending}
          @click=${() => busy || this.change(control, field, value !== true, true)}
        >
          <span class="track" aria-hidden="true"><span class="thumb"></span></span><span>${value === true ? 'On' : 'Off'}${pending ? '…' : ''}</span>
        </button>`;
      case 'select':
        return html`<label for=${id}>${field.label}</label>
          <select
            id=${id}
            aria-describedby=${describedBy}
            aria-disabled=${busy ? 'true' : 'false'}
            ?data-pending=${pending}
            .value=${String(value)}
            @keydown=${(e: KeyboardEvent) => this.selectKey(e, control, field)}
            @change=${(e: Event) => this.selectChange(control, field, (e.target as HTMLSelectElement).value)}
            @blur=${() => this.selectBlur(control.key)}
            @mousedown=${() => this.browsing.delete(control.key)}
          >
            ${(field.options ?? []).map((option) => html`<option value=${option} ?selected=${option === value}>${option}</option>`)}
          </select>
          ${this.renderChoiceNote(control.key, value)}`;
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
            aria-valuetext=${`${value}${field.unit ?? ''}${pending ? ', pending' : ''}`}
            ?data-pending=${pending}
            @input=${(e: Event) => this.change(control, field, Number((e.target as HTMLInputElement).value), false)}
            @change=${(e: Event) => this.slide(control, field, Number((e.target as HTMLInputElement).value))}
          />
          <output for=${id}>${value}${field.unit ?? ''}</output>
          ${this.renderChoiceNote(control.key, value)}`;
      default:
        return html`<form class="widget" @submit=${(event: SubmitEvent) => this.submitForm(event, control)} aria-labelledby=${labelledBy} novalidate>
          ${this.renderInput(control.key, field, describedBy)}
          <button type="submit" aria-disabled=${busy ? 'true' : 'false'}>Set</button>
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

  /** The operator's choice was sent and the device has not confirmed it yet. */
  private pendingChoice(key: string): boolean {
    const draft = this.drafts.get(key);
    if (!draft?.sent) return false;
    const send = this.sends.get(key);
    if (send === draft.sentOver || send === undefined || send.status === 'posting') return true;
    if (send.status !== 'accepted') return false;
    const command = this.commandsById.get(send.commandId);
    return !command || !isFinalCommandState(command.state);
  }

  /** Beside a widget that shows the operator's choice: pending until confirmed, or waiting for Enter. */
  private renderChoiceNote(key: string, value: RawValue) {
    const draft = this.drafts.get(key);
    if (!draft) return nothing;
    if (!draft.sent) return html`<span class="hint" data-choice="unsent">Press Enter to send ${String(value)}</span>`;
    return this.pendingChoice(key) ? html`<span class="hint" data-choice="pending">${String(value)} pending: the device has not confirmed it</span>` : nothing;
  }

  /** Arrow keys only move the choice; Enter sends it, Escape puts back the device's value. */
  private selectKey(event: KeyboardEvent, control: Extract<ControlSpec, { kind: 'field' }>, field: FieldSpec): void {
    if (BROWSE_KEYS.has(event.key)) {
      this.browsing.add(control.key);
    } else if (event.key === 'Enter') {
      this.browsing.delete(control.key);
      const draft = this.drafts.get(control.key);
      if (draft && !draft.sent) {
        event.preventDefault();
        this.change(control, field, draft.values[field.name] as RawValue, true);
      }
    } else if (event.key === 'Escape') {
      this.dropUnsent(control.key);
    }
  }

  private selectChange(control: Extract<ControlSpec, { kind: 'field' }>, field: FieldSpec, value: string): void {
    // A pick from the open list (mouse, or Enter in it) is a confirmed choice; an arrow key on the closed select is not.
    this.change(control, field, value, !this.browsing.has(control.key));
  }

  private selectBlur(key: string): void {
    this.browsing.delete(key);
    this.dropUnsent(key);
  }

  private dropUnsent(key: string): void {
    this.browsing.delete(key);
    const draft = this.drafts.get(key);
    if (!draft || draft.sent) return;
    const drafts = new Map(this.drafts);
    drafts.delete(key);
    this.drafts = drafts;
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
   * refused one snaps back on a widget that acts at once, and stays in a
   * form, beside the reason, for the operator to correct.
   */
  private dropStaleDrafts(): void {
    let drafts: Map<string, Draft> | null = null;
    for (const [key, draft] of this.drafts) {
      const send = this.sends.get(key);
      if (!draft.sent || send === draft.sentOver) continue;
      if (send?.status === 'refused' && this.actsAtOnce(key)) {
        drafts ??= new Map(this.drafts);
        drafts.delete(key);
        continue;
      }
      if (send?.status !== 'accepted') continue;
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
    this.drafts = new Map(this.drafts).set(key, { ...draft, sent: true, sentOver: this.sends.get(key) });
  }

  /** A toggle, select or slider: it shows a value, so a refused choice must not stay in it. */
  private actsAtOnce(key: string): boolean {
    const control = this.controls.find((candidate) => candidate.key === key);
    return control?.kind === 'field' && (control.field.widget === 'toggle' || control.field.widget === 'select' || control.field.widget === 'slider');
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
    if (!this.capabilities || this.sends.get(key)?.status === 'posting') return;
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
    // One command at a time per control: it stays focusable while busy, so a second press lands here.
    if (this.sends.get(key)?.status === 'posting') return;
    this.dispatchEvent(new CustomEvent<SendCommandDetail>('send-command', { detail: { key, name, params }, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'device-controls': DeviceControls;
  }
}
