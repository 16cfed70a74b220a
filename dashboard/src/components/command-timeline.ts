/**
 * <command-timeline>: a device's commands, newest first, each with the
 * states it went through and when (queued, sent, acknowledged, then
 * succeeded, failed, timed out, expired or cancelled), updated live. A
 * command that has not ended can be cancelled. Fires `cancel-command` with
 * `{id}`, `load-older` and `commands-retry`.
 */
import { isFinalCommandState, type CommandView } from '@iot-hub/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { TIMED_OUT_NOTE, commandStateHint, commandStateLabel, formatElapsed, formatParams, lateResultText, type CommandTimeline } from '../data/command-timeline.js';
import type { LoadStatus } from '../data/device-detail.js';
import { formatRelativeTime } from '../format.js';
import { baseStyles, commandStateStyles, panelStyles } from './shared-styles.js';

export interface CancelCommandDetail {
  id: string;
}

function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

function shortJson(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}

@customElement('command-timeline')
export class CommandTimelineView extends LitElement {
  static override styles = [
    baseStyles,
    panelStyles,
    commandStateStyles,
    css`
      ol {
        list-style: none;
        margin: 0;
        padding: 0;
      }
      li.command {
        display: grid;
        grid-template-columns: minmax(0, 1fr) auto;
        gap: 0.3rem 0.75rem;
        padding: 0.65rem 0;
        border-top: 1px solid var(--hub-border, #d0d7de);
      }
      li.command:first-child {
        border-top: 0;
      }
      .head {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem 0.6rem;
        align-items: baseline;
        min-width: 0;
      }
      .name {
        font-family: var(--hub-mono, ui-monospace, monospace);
        font-weight: 600;
      }
      .params {
        font-family: var(--hub-mono, ui-monospace, monospace);
        font-size: 0.82rem;
        color: var(--hub-text-muted, #57606a);
        overflow-wrap: anywhere;
      }
      .side {
        display: flex;
        gap: 0.5rem;
        align-items: start;
      }
      ol.steps {
        grid-column: 1 / -1;
        display: flex;
        flex-wrap: wrap;
        gap: 0.2rem 0;
        font-size: 0.8rem;
        color: var(--hub-text-muted, #57606a);
      }
      ol.steps li {
        display: inline-flex;
        gap: 0.3em;
        align-items: baseline;
      }
      ol.steps li + li::before {
        content: '→';
        margin: 0 0.45em;
        color: var(--hub-border, #d0d7de);
      }
      ol.steps .step-state {
        color: var(--hub-text, #1b1f24);
      }
      .detail {
        grid-column: 1 / -1;
        font-size: 0.82rem;
        overflow-wrap: anywhere;
      }
      .detail.late {
        border-left: 3px solid var(--hub-warning, #9a6700);
        padding-left: 0.45rem;
      }
      button {
        font-size: 0.8rem;
        padding: 0.15rem 0.55rem;
      }
      .more {
        margin-top: 0.75rem;
        text-align: center;
      }
    `,
  ];

  @property({ attribute: false }) timeline: CommandTimeline | null = null;
  @property() status: LoadStatus = 'loading';
  @property() error: string | null = null;
  @property({ type: Boolean }) loadingOlder = false;
  @property({ attribute: false }) now = Date.now();

  override render() {
    const timeline = this.timeline;
    const count = timeline?.commands.length ?? 0;
    return html`<section class="panel" aria-labelledby="timeline-title">
      <div class="panel-head">
        <h3 id="timeline-title">Commands</h3>
        ${count > 0 ? html`<span class="hint">newest first, updated live</span>` : nothing}
      </div>
      ${this.error && this.status !== 'loading'
        ? html`<p class="error" role="alert">
            Could not load the commands: ${this.error}
            <button type="button" @click=${() => this.fire('commands-retry')}>Retry</button>
          </p>`
        : nothing}
      ${!timeline || (this.status === 'loading' && count === 0)
        ? html`<div class="empty" role="status">Loading commands…</div>`
        : count === 0
          ? this.status === 'ready'
            ? html`<div class="empty">No commands yet. Commands sent from the controls appear here and update live.</div>`
            : nothing
          : html`<ol aria-label="Commands, newest first">
              ${repeat(timeline.commands, (command) => command.id, (command) => this.renderCommand(command))}
            </ol>`}
      ${timeline && timeline.next !== null
        ? html`<div class="more">
            <button type="button" ?disabled=${this.loadingOlder} @click=${() => this.fire('load-older')}>
              ${this.loadingOlder ? 'Loading…' : 'Show older commands'}
            </button>
          </div>`
        : nothing}
      ${timeline?.trimmed ? html`<p class="hint more">Older commands are not kept on this page; reload it to page through them.</p>` : nothing}
    </section>`;
  }

  private renderCommand(command: CommandView) {
    const ended = isFinalCommandState(command.state);
    const params = formatParams(command.params);
    return html`<li class="command" data-command-id=${command.id} data-command=${command.name} data-state=${command.state}>
      <div class="head">
        <span class="name">${command.name}</span>
        ${params ? html`<span class="params">${params}</span>` : nothing}
        <span class="muted" title=${new Date(command.createdAt).toLocaleString()}>${formatRelativeTime(command.createdAt, this.now)} by ${command.issuedBy}</span>
      </div>
      <div class="side">
        <span class="state ${command.state}" title=${commandStateHint(command)}>${commandStateLabel(command.state)}</span>
        ${ended
          ? nothing
          : html`<button type="button" aria-label=${`Cancel ${command.name} (${command.id})`} @click=${() => this.fire('cancel-command', { id: command.id })}>Cancel</button>`}
      </div>
      <ol class="steps" aria-label="States">
        ${command.transitions.map(
          (step, i) => html`<li title=${new Date(step.at).toLocaleString()}>
            <span class="step-state">${commandStateLabel(step.state)}</span>
            <span>${i === 0 ? clock(step.at) : formatElapsed(step.at - command.createdAt)}</span>
          </li>`,
        )}
      </ol>
      ${command.error && command.state !== 'succeeded' ? html`<div class="detail error">${command.error}</div>` : nothing}
      ${command.state === 'succeeded' && command.result !== undefined ? html`<div class="detail muted">result <code>${shortJson(command.result)}</code></div>` : nothing}
      ${command.deliveries > 1 ? html`<div class="detail muted">delivered ${command.deliveries} times (the device reconnected)</div>` : nothing}
      ${command.state === 'timed_out' ? html`<div class="detail muted" data-timed-out-note>${TIMED_OUT_NOTE}</div>` : nothing}
      ${(command.late ?? []).map((late) => html`<div class="detail late" role="status" data-late=${late.status}>${lateResultText(command, late)}</div>`)}
    </li>`;
  }

  private fire(type: string, detail?: CancelCommandDetail): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'command-timeline': CommandTimelineView;
  }
}
