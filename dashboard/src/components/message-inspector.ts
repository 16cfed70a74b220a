/**
 * <message-inspector>: the last 100 raw protocol messages in and out of one
 * device (the hub's `message` feed, subscribed by the device page), newest
 * first, with direction, time, type and the JSON body. Pause freezes the
 * view (the log keeps filling); a burst of messages renders once per frame.
 */
import type { DashboardEvent } from '@iot-hub/protocol';
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import type { LiveSession } from '../controllers/live-controller.js';
import { MessageLog, type DirectionFilter, type LoggedMessage } from '../data/message-log.js';
import { baseStyles, panelStyles } from './shared-styles.js';

const FILTERS: ReadonlyArray<[DirectionFilter, string]> = [
  ['all', 'All'],
  ['in', 'In'],
  ['out', 'Out'],
];

function clockTime(ts: number): string {
  const d = new Date(ts);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function pretty(body: string, truncated: boolean): string {
  if (truncated) return `${body}…`;
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

@customElement('message-inspector')
export class MessageInspector extends LitElement {
  static override styles = [
    baseStyles,
    panelStyles,
    css`
      .tools {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
        margin-left: auto;
        align-items: center;
      }
      .tools button {
        font-size: 0.8rem;
        padding: 0.2rem 0.6rem;
      }
      .tools button[aria-pressed='true'] {
        background: var(--hub-accent, #2563eb);
        color: var(--hub-on-accent, #fff);
      }
      ol {
        list-style: none;
        margin: 0;
        padding: 0;
        max-height: 28rem;
        overflow: auto;
        font-family: var(--hub-mono, ui-monospace, monospace);
        font-size: 0.8rem;
      }
      li {
        border-top: 1px solid var(--hub-border, #d0d7de);
      }
      summary {
        display: grid;
        grid-template-columns: 3.6rem 7.5rem 7rem minmax(0, 1fr);
        gap: 0.5rem;
        padding: 0.3rem 0.25rem;
        cursor: pointer;
        align-items: baseline;
      }
      .dir {
        font-weight: 700;
        white-space: nowrap;
      }
      .dir.in {
        color: var(--hub-online, #1a7f37);
      }
      .dir.out {
        color: var(--hub-accent, #2563eb);
      }
      .type {
        font-weight: 600;
      }
      .preview {
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
        color: var(--hub-text-muted, #57606a);
      }
      pre {
        margin: 0 0 0.5rem 4.1rem;
        padding: 0.5rem;
        white-space: pre-wrap;
        overflow-wrap: anywhere;
        background: var(--hub-surface-2, #f6f8fa);
        border-radius: var(--hub-radius-sm, 6px);
      }
    `,
  ];

  @property({ attribute: false }) session: LiveSession | null = null;
  @property() deviceId = '';

  @state() private filter: DirectionFilter = 'all';
  @state() private paused = false;
  /** What is on screen: the log's entries when last read. */
  @state() private shown: LoggedMessage[] = [];

  private log = new MessageLog();
  private unsubscribe: (() => void) | null = null;
  private frame = 0;

  override willUpdate(changed: PropertyValues): void {
    if (changed.has('session') || changed.has('deviceId')) this.listen();
    if (changed.has('filter') || changed.has('paused')) this.readLog();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.stopListening();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.session && !this.unsubscribe) this.listen();
  }

  private listen(): void {
    this.stopListening();
    this.log = new MessageLog();
    this.shown = [];
    const { session, deviceId } = this;
    if (!session || !deviceId) return;
    this.unsubscribe = session.connection.on('event', (event: DashboardEvent) => {
      if (event.event !== 'message' || event.deviceId !== deviceId) return;
      this.log.add(event);
      if (!this.paused && this.frame === 0) {
        this.frame = requestAnimationFrame(() => {
          this.frame = 0;
          this.readLog();
        });
      }
    });
  }

  private stopListening(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    cancelAnimationFrame(this.frame);
    this.frame = 0;
  }

  private readLog(): void {
    if (!this.paused) this.shown = this.log.entries(this.filter);
  }

  override render() {
    return html`<section class="panel" aria-labelledby="inspector-title">
      <div class="panel-head">
        <h3 id="inspector-title">Messages</h3>
        <span class="hint">last ${this.log.size} in and out of the device, newest first</span>
        <div class="tools">
          <div role="group" aria-label="Direction">
            ${FILTERS.map(
              ([filter, label]) =>
                html`<button type="button" aria-pressed=${this.filter === filter ? 'true' : 'false'} @click=${() => (this.filter = filter)}>${label}</button>`,
            )}
          </div>
          <button type="button" aria-pressed=${this.paused ? 'true' : 'false'} @click=${() => (this.paused = !this.paused)}>
            ${this.paused ? 'Resume' : 'Pause'}
          </button>
          <button
            type="button"
            @click=${() => {
              this.log.clear();
              this.shown = [];
            }}
          >
            Clear
          </button>
        </div>
      </div>
      ${this.shown.length === 0
        ? html`<div class="empty" role="status">No messages yet: they appear here as the device and the hub talk.</div>`
        : html`<ol aria-label="Messages, newest first">
            ${repeat(
              this.shown,
              (m) => m.n,
              (m) => html`<li data-direction=${m.direction} data-type=${m.type}>
                <details>
                  <summary>
                    <span class="dir ${m.direction}" title=${m.direction === 'in' ? 'device → hub' : 'hub → device'}>${m.direction === 'in' ? '→ in' : '← out'}</span>
                    <time datetime=${new Date(m.ts).toISOString()}>${clockTime(m.ts)}</time>
                    <span class="type">${m.type}</span>
                    <span class="preview">${m.body}${m.truncated ? '…' : nothing}</span>
                  </summary>
                  <pre>${pretty(m.body, m.truncated)}</pre>
                </details>
              </li>`,
            )}
          </ol>`}
    </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'message-inspector': MessageInspector;
  }
}
