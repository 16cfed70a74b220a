/**
 * <rules-page>: `#/rules`, every alert rule (the built-in ones too) with
 * its severity, scope and condition; operators switch a rule on or off,
 * create, edit and delete one (after a confirmation). Viewers read only.
 */
import type { AlertRule, RuleCondition, RuleScope, RuleWriteResponse } from '@iot-hub/protocol';
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { deleteRule as apiDeleteRule, listRules, ruleInput, updateRule, type ApiAuth } from '../data/api.js';
import { READ_ONLY_HINT, severityStyles } from './alert-styles.js';
import { baseStyles } from './shared-styles.js';
import './rule-editor.js';

function scopeText(scope: RuleScope): string {
  switch (scope.type) {
    case 'device':
      return `device ${scope.deviceId}`;
    case 'kind':
      return `kind ${scope.kind}`;
    case 'room':
      return `room ${scope.room}`;
    case 'label':
      return `label ${scope.label}`;
    case 'all':
      return 'every device';
  }
}

function conditionText(c: RuleCondition, forSec: number): string {
  const lasting = forSec > 0 ? ` for ${forSec} s` : '';
  switch (c.type) {
    case 'above':
    case 'below':
      return `${c.metric} ${c.type} ${c.value}${c.clear === undefined ? '' : ` (clears at ${c.clear})`}${lasting}`;
    case 'outside':
      return `${c.metric} outside ${c.low}..${c.high}${lasting}`;
    case 'rate':
      return `${c.metric} changes faster than ${c.perMinute}/min (${c.direction})`;
    case 'no_data':
      return `no ${c.metric} for ${forSec} s`;
    case 'offline':
      return `offline for ${forSec} s`;
    case 'errors':
      return `${c.count} errors within ${forSec} s`;
  }
}

@customElement('rules-page')
export class RulesPage extends LitElement {
  static override styles = [
    baseStyles,
    severityStyles,
    css`
      table {
        border-collapse: collapse;
        width: 100%;
        margin: 0.8rem 0;
      }
      th,
      td {
        text-align: left;
        padding: 0.35rem 0.5rem;
        border-bottom: 1px solid var(--hub-border, #d0d7de);
      }
      .error {
        color: var(--hub-offline, #cf222e);
      }
      .warnings {
        color: var(--hub-warning, #9a6700);
      }
      .hint {
        color: var(--hub-text-muted, #57606a);
      }
    `,
  ];

  @property({ attribute: false }) auth: ApiAuth | null = null;
  @property({ type: Boolean }) readOnly = false;

  @state() private rules: AlertRule[] = [];
  @state() private error = '';
  @state() private warnings: string[] = [];
  /** The rule in the editor: 'new', a rule, or null when the editor is closed. */
  @state() private editing: AlertRule | 'new' | null = null;

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('auth')) void this.load();
  }

  private async load(): Promise<void> {
    if (!this.auth) return;
    try {
      this.rules = (await listRules(this.auth)).rules;
    } catch (error) {
      this.error = `Cannot read the rules: ${(error as Error).message}`;
    }
  }

  override render() {
    return html`<h2 class="page-title" tabindex="-1">Alert rules</h2>
      <p><a href="#/alerts">Current alerts</a></p>
      ${this.readOnly ? html`<p class="hint read-only">${READ_ONLY_HINT}</p>` : nothing}
      ${this.error ? html`<p class="error" role="alert" data-error>${this.error}</p>` : nothing}
      ${this.warnings.length > 0 ? html`<ul class="warnings" role="status" data-warnings>${this.warnings.map((w) => html`<li>${w}</li>`)}</ul>` : nothing}
      ${this.editing === null
        ? html`<button class="primary" type="button" ?disabled=${this.readOnly} @click=${() => (this.editing = 'new')}>New rule</button>`
        : html`<rule-editor
            .auth=${this.auth}
            .rule=${this.editing === 'new' ? null : this.editing}
            @rule-saved=${this.onSaved}
            @rule-cancel=${() => (this.editing = null)}
          ></rule-editor>`}
      <table aria-label="Alert rules">
        <thead>
          <tr>
            <th>Enabled</th>
            <th>Name</th>
            <th>Severity</th>
            <th>Scope</th>
            <th>Condition</th>
            <th><span class="visually-hidden">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          ${this.rules.map((rule) => this.renderRule(rule))}
        </tbody>
      </table>`;
  }

  private renderRule(rule: AlertRule) {
    return html`<tr data-rule=${rule.id}>
      <td>
        <input
          type="checkbox"
          aria-label=${`Enabled: ${rule.name}`}
          .checked=${rule.enabled}
          ?disabled=${this.readOnly}
          @change=${(e: Event) => void this.toggle(rule, (e.target as HTMLInputElement).checked)}
        />
      </td>
      <td>${rule.name}${rule.builtin ? html` <small class="hint">(built-in)</small>` : nothing}</td>
      <td><span class="sev ${rule.severity}">${rule.severity}</span></td>
      <td>${scopeText(rule.scope)}</td>
      <td>${conditionText(rule.condition, rule.forSec)}</td>
      <td>
        <button type="button" ?disabled=${this.readOnly} @click=${() => (this.editing = rule)}>Edit</button>
        <button type="button" ?disabled=${this.readOnly} @click=${() => void this.deleteRule(rule)}>Delete</button>
      </td>
    </tr>`;
  }

  private async toggle(rule: AlertRule, enabled: boolean): Promise<void> {
    this.error = '';
    try {
      const { rule: saved } = await updateRule(this.auth as ApiAuth, rule.id, { ...ruleInput(rule), enabled, ifVersion: rule.version });
      this.rules = this.rules.map((r) => (r.id === saved.id ? saved : r));
    } catch (error) {
      this.error = `Cannot ${enabled ? 'enable' : 'disable'} ${rule.name}: ${(error as Error).message}`;
      await this.load();
    }
  }

  private async deleteRule(rule: AlertRule): Promise<void> {
    if (!window.confirm(`Delete the rule “${rule.name}”? Its open alerts resolve; its history stays.`)) return;
    this.error = '';
    try {
      await apiDeleteRule(this.auth as ApiAuth, rule.id);
      this.rules = this.rules.filter((r) => r.id !== rule.id);
    } catch (error) {
      this.error = `Cannot delete ${rule.name}: ${(error as Error).message}`;
    }
  }

  private readonly onSaved = (event: CustomEvent<RuleWriteResponse>): void => {
    this.warnings = event.detail.warnings;
    this.editing = null;
    void this.load();
  };

  focusHeading(): void {
    this.renderRoot.querySelector<HTMLElement>('h2')?.focus({ preventScroll: true });
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'rules-page': RulesPage;
  }
}
