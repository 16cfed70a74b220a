/**
 * <rule-editor>: the form to create a rule or change one (`rule` set). The
 * condition type decides which inputs show. A problem found here, or the
 * hub's 4xx message, is shown next to the input it names (the hub's
 * messages start with the field); the hub's warnings are shown after a
 * save. Fires `rule-saved` ({rule, warnings}) and `rule-cancel`.
 */
import type { AlertRule, RuleWriteResponse } from '@iot-hub/protocol';
import { ALERT_SEVERITIES } from '@iot-hub/protocol';
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { createRule, updateRule, type ApiAuth } from '../data/api.js';
import {
  CONDITION_FIELDS,
  CONDITION_TYPES,
  EMPTY_RULE_FORM,
  fieldOfMessage,
  formFromRule,
  ruleFromForm,
  RuleFormError,
  SCOPE_TYPES,
  scopeField,
  type FieldProblem,
  type RuleFormFields,
} from '../data/rule-form.js';
import { baseStyles } from './shared-styles.js';

/** Labels and API paths of the condition inputs. */
const CONDITION_INPUTS: Record<string, { label: string; path: string }> = {
  metric: { label: 'Metric', path: 'condition.metric' },
  value: { label: 'Threshold', path: 'condition.value' },
  clear: { label: 'Clear at (hysteresis, optional)', path: 'condition.clear' },
  low: { label: 'Low', path: 'condition.low' },
  high: { label: 'High', path: 'condition.high' },
  clearMargin: { label: 'Clear margin (optional)', path: 'condition.clearMargin' },
  perMinute: { label: 'Change per minute', path: 'condition.perMinute' },
  count: { label: 'Errors', path: 'condition.count' },
};

@customElement('rule-editor')
export class RuleEditor extends LitElement {
  static override styles = [
    baseStyles,
    css`
      form {
        display: grid;
        gap: 0.6rem;
        max-width: 44rem;
        padding: 0.8rem;
        border: 1px solid var(--hub-border, #d0d7de);
        border-radius: var(--hub-radius, 8px);
        background: var(--hub-surface, #fff);
      }
      .row {
        display: flex;
        flex-wrap: wrap;
        gap: 0.8rem;
      }
      label {
        display: grid;
        gap: 0.2rem;
        font-size: 0.9rem;
      }
      input,
      select,
      textarea {
        font: inherit;
        padding: 0.25rem 0.4rem;
      }
      .problem,
      .error {
        color: var(--hub-offline, #cf222e);
        font-size: 0.85rem;
      }
      fieldset {
        border: 1px solid var(--hub-border, #d0d7de);
        border-radius: var(--hub-radius-sm, 6px);
      }
    `,
  ];

  @property({ attribute: false }) auth: ApiAuth | null = null;
  /** The rule to change; null creates a new one. */
  @property({ attribute: false }) rule: AlertRule | null = null;

  @state() private fields: RuleFormFields = { ...EMPTY_RULE_FORM };
  @state() private problem: FieldProblem | null = null;
  @state() private busy = false;

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('rule')) {
      this.fields = this.rule ? formFromRule(this.rule) : { ...EMPTY_RULE_FORM };
      this.problem = null;
    }
  }

  private set<K extends keyof RuleFormFields>(key: K, value: RuleFormFields[K]): void {
    this.fields = { ...this.fields, [key]: value };
  }

  /** Fields shown next to an input in this render; a problem about any other is shown at the form's foot. */
  private readonly shownPaths = new Set<string>();

  /** The problem's words when it is about `path`. */
  private problemFor(path: string) {
    this.shownPaths.add(path);
    const p = this.problem;
    if (p?.field !== path) return nothing;
    return html`<span class="problem" role="alert" data-problem=${p.field}>${p.message}</span>`;
  }

  /** A problem no input in this render claims (the hub's own words, or a field without an input). */
  private footProblem() {
    const p = this.problem;
    if (!p || this.shownPaths.has(p.field)) return nothing;
    return html`<p class="error" role="alert" data-problem=${p.field}>${p.field === 'form' ? '' : `${p.field}: `}${p.message}</p>`;
  }

  private text(key: keyof RuleFormFields, label: string, path: string, type = 'text') {
    return html`<label
      >${label}
      <input
        name=${key}
        type=${type}
        step=${type === 'number' ? 'any' : nothing}
        .value=${String(this.fields[key])}
        aria-invalid=${this.problem?.field === path ? 'true' : 'false'}
        @input=${(e: Event) => this.set(key, (e.target as HTMLInputElement).value as never)}
      />${this.problemFor(path)}</label
    >`;
  }

  override render() {
    this.shownPaths.clear();
    const f = this.fields;
    return html`<form @submit=${this.save} aria-label=${this.rule ? `Edit rule ${this.rule.name}` : 'New rule'}>
      <div class="row">
        ${this.text('name', 'Name', 'name')}
        <label
          >Severity
          <select name="severity" @change=${(e: Event) => this.set('severity', (e.target as HTMLSelectElement).value as RuleFormFields['severity'])}>
            ${ALERT_SEVERITIES.map((s) => html`<option value=${s} ?selected=${f.severity === s}>${s}</option>`)}
          </select></label
        >
        <label><span>Enabled</span><input type="checkbox" name="enabled" .checked=${f.enabled} @change=${(e: Event) => this.set('enabled', (e.target as HTMLInputElement).checked)} /></label>
      </div>
      <label
        >Description (may use {deviceName}, {value}, {threshold})
        <textarea name="description" rows="2" .value=${f.description} @input=${(e: Event) => this.set('description', (e.target as HTMLTextAreaElement).value)}></textarea
        >${this.problemFor('description')}</label
      >
      <div class="row">
        <label
          >Scope
          <select name="scopeType" @change=${(e: Event) => this.set('scopeType', (e.target as HTMLSelectElement).value as RuleFormFields['scopeType'])}>
            ${SCOPE_TYPES.map((s) => html`<option value=${s} ?selected=${f.scopeType === s}>${s === 'all' ? 'every device' : s}</option>`)}
          </select>${this.problemFor('scope')}</label
        >
        ${f.scopeType === 'all' ? nothing : this.text('scopeValue', f.scopeType === 'device' ? 'Device id' : f.scopeType, scopeField(f.scopeType))}
      </div>
      <div class="row">
        <label
          >Condition
          <select name="conditionType" @change=${(e: Event) => this.set('conditionType', (e.target as HTMLSelectElement).value as RuleFormFields['conditionType'])}>
            ${CONDITION_TYPES.map((c) => html`<option value=${c} ?selected=${f.conditionType === c}>${c.replace('_', ' ')}</option>`)}
          </select>${this.problemFor('condition')}</label
        >
        ${CONDITION_FIELDS[f.conditionType].map((key) =>
          key === 'direction'
            ? html`<label
                >Direction
                <select name="direction" @change=${(e: Event) => this.set('direction', (e.target as HTMLSelectElement).value as RuleFormFields['direction'])}>
                  ${(['either', 'rise', 'fall'] as const).map((d) => html`<option value=${d} ?selected=${f.direction === d}>${d}</option>`)}
                </select></label
              >`
            : this.text(key, CONDITION_INPUTS[key]?.label ?? key, CONDITION_INPUTS[key]?.path ?? key, key === 'metric' ? 'text' : 'number'),
        )}
      </div>
      <div class="row">
        ${this.text('forSec', 'For (seconds)', 'forSec', 'number')} ${this.text('minFiringSec', 'Fire at least (seconds)', 'minFiringSec', 'number')}
      </div>
      <fieldset>
        <legend>Command when it fires (optional)</legend>
        <div class="row">
          ${this.text('actionDeviceId', 'Device id', 'actions[0].deviceId')} ${this.text('actionName', 'Command', 'actions[0].name')}
          ${this.text('actionParams', 'Params (JSON)', 'actions[0].params')}
          <label
            >On
            <select name="actionOn" @change=${(e: Event) => this.set('actionOn', (e.target as HTMLSelectElement).value as 'firing' | 'resolved')}>
              <option value="firing" ?selected=${f.actionOn === 'firing'}>firing</option>
              <option value="resolved" ?selected=${f.actionOn === 'resolved'}>resolved</option>
            </select></label
          >
        </div>
      </fieldset>
      ${this.footProblem()}
      <div class="row">
        <button class="primary" type="submit" ?disabled=${this.busy || this.auth === null}>${this.rule ? 'Save rule' : 'Create rule'}</button>
        <button type="button" @click=${() => this.dispatchEvent(new CustomEvent('rule-cancel', { bubbles: true, composed: true }))}>Cancel</button>
      </div>
    </form>`;
  }

  private async save(event: Event): Promise<void> {
    event.preventDefault();
    this.problem = null;
    let input;
    try {
      input = ruleFromForm(this.fields);
    } catch (error) {
      if (error instanceof RuleFormError) this.problem = error.problem;
      else throw error;
      return;
    }
    this.busy = true;
    try {
      const auth = this.auth as ApiAuth;
      // The form edits the first action; the API may hold more, kept as they are.
      const actions = this.rule ? [...(input.actions ?? []), ...this.rule.actions.slice(1)] : input.actions;
      const answer: RuleWriteResponse = this.rule
        ? await updateRule(auth, this.rule.id, { ...input, actions, actionIntervalSec: this.rule.actionIntervalSec, ifVersion: this.rule.version })
        : await createRule(auth, input);
      this.dispatchEvent(new CustomEvent('rule-saved', { detail: answer, bubbles: true, composed: true }));
    } catch (error) {
      this.problem = fieldOfMessage((error as Error).message);
    } finally {
      this.busy = false;
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'rule-editor': RuleEditor;
  }
}
