/**
 * <device-list-toolbar>: the overview list's search, presence filter, kind
 * and room filters, "has alerts" and the sort. It shows the `view` it is
 * given and fires `view-change` with the whole next view; the page keeps the
 * view in the URL (data/list-view.ts) and hands it back.
 */
import { LitElement, css, html } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { SORT_KEYS, SORTS, type ListView } from '../data/list-view.js';
import { presenceLabel } from '../format.js';
import { baseStyles } from './shared-styles.js';

export type ViewChangeDetail = ListView;

const PRESENCE_FILTERS: ReadonlyArray<ListView['presence']> = ['all', 'online', 'offline', 'unknown'];

@customElement('device-list-toolbar')
export class DeviceListToolbar extends LitElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: flex;
        flex-wrap: wrap;
        gap: 0.75rem;
        align-items: center;
        margin-bottom: 0.75rem;
      }
      input[type='search'] {
        flex: 1 1 16rem;
        font: inherit;
        color: inherit;
        padding: 0.45rem 0.7rem;
        background: var(--hub-surface, #fff);
        border: 1px solid var(--hub-border, #d0d7de);
        border-radius: var(--hub-radius-sm, 6px);
      }
      .filters {
        display: inline-flex;
        border: 1px solid var(--hub-border, #d0d7de);
        border-radius: var(--hub-radius-sm, 6px);
        overflow: hidden;
      }
      .filters button {
        border: 0;
        border-radius: 0;
        border-left: 1px solid var(--hub-border, #d0d7de);
        font-size: 0.875rem;
      }
      .filters button:first-child {
        border-left: 0;
      }
      .filters button[aria-pressed='true'] {
        background: var(--hub-accent, #2563eb);
        color: var(--hub-on-accent, #fff);
      }
      select {
        font: inherit;
        font-size: 0.875rem;
        color: inherit;
        padding: 0.4rem 0.5rem;
        background: var(--hub-surface, #fff);
        border: 1px solid var(--hub-border, #d0d7de);
        border-radius: var(--hub-radius-sm, 6px);
      }
      label.check,
      .sort {
        display: inline-flex;
        gap: 0.35rem;
        align-items: center;
        font-size: 0.875rem;
      }
      .sort button {
        font-size: 0.875rem;
        padding: 0.35rem 0.55rem;
      }
    `,
  ];

  @property({ attribute: false }) view!: ListView;
  @property({ attribute: false }) kinds: readonly string[] = [];
  @property({ attribute: false }) rooms: readonly string[] = [];

  override render() {
    const view = this.view;
    return html`
      <div role="search" style="display: contents">
        <label class="visually-hidden" for="search">Search devices</label>
        <input
          id="search"
          type="search"
          placeholder="Search by name, id or kind"
          autocomplete="off"
          .value=${view.query}
          @input=${(event: Event) => this.change({ query: (event.target as HTMLInputElement).value })}
        />
      </div>
      <div class="filters" role="group" aria-label="Filter by presence">
        ${PRESENCE_FILTERS.map(
          (filter) => html`<button type="button" aria-pressed=${view.presence === filter ? 'true' : 'false'} @click=${() => this.change({ presence: filter })}>
            ${filter === 'all' ? 'All' : presenceLabel(filter)}
          </button>`,
        )}
      </div>
      <label class="visually-hidden" for="kind">Kind</label>
      <select id="kind" @change=${(event: Event) => this.change({ kind: (event.target as HTMLSelectElement).value })}>
        <option value="" ?selected=${view.kind === ''}>All kinds</option>
        ${this.kinds.map((kind) => html`<option value=${kind} ?selected=${view.kind === kind}>${kind}</option>`)}
      </select>
      <label class="visually-hidden" for="room">Room</label>
      <select id="room" @change=${(event: Event) => this.change({ room: (event.target as HTMLSelectElement).value })}>
        <option value="" ?selected=${view.room === ''}>All rooms</option>
        ${this.rooms.map((room) => html`<option value=${room} ?selected=${view.room === room}>${room}</option>`)}
      </select>
      <label class="check">
        <input type="checkbox" .checked=${view.alertsOnly} @change=${(event: Event) => this.change({ alertsOnly: (event.target as HTMLInputElement).checked })} />
        Has alerts
      </label>
      <span class="sort">
        <label for="sort">Sort</label>
        <select id="sort" @change=${(event: Event) => this.change({ sort: (event.target as HTMLSelectElement).value as ListView['sort'] })}>
          ${SORT_KEYS.map((key) => html`<option value=${key} ?selected=${view.sort === key}>${SORTS[key].label}</option>`)}
        </select>
        <button
          type="button"
          data-sort-dir
          aria-pressed=${view.desc ? 'true' : 'false'}
          aria-label="Reverse the order"
          title="Reverse the order"
          @click=${() => this.change({ desc: !view.desc })}
        >
          ${view.desc ? '↑' : '↓'}
        </button>
      </span>
    `;
  }

  private change(patch: Partial<ListView>): void {
    this.dispatchEvent(new CustomEvent<ViewChangeDetail>('view-change', { detail: { ...this.view, ...patch }, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'device-list-toolbar': DeviceListToolbar;
  }
}
