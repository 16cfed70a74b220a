/** The styles of <device-list>: its table, rows, row signals and the phone layout. */
import { css } from 'lit';

export const deviceListStyles = css`
  :host {
    display: block;
  }
  .table {
    background: var(--hub-surface, #fff);
    border: 1px solid var(--hub-border, #d0d7de);
    border-radius: var(--hub-radius, 10px);
    /* clip, not hidden: hidden would make the table a scroll container and unstick the header. */
    overflow: clip;
  }
  .row {
    display: grid;
    grid-template-columns: minmax(10rem, 2fr) minmax(6rem, 1fr) minmax(12rem, 2fr) minmax(12rem, 3fr) 8rem;
    gap: 0.5rem 1rem;
    align-items: start;
    padding: 0.7rem 1rem;
    border-top: 1px solid var(--hub-border, #d0d7de);
  }
  .head {
    border-top: 0;
    font-size: 0.75rem;
    font-weight: 600;
    letter-spacing: 0.04em;
    text-transform: uppercase;
    color: var(--hub-text-muted, #57606a);
    background: var(--hub-surface-2, #f6f8fa);
    padding-block: 0.45rem;
    /* Below the page's sticky header, whose height the page sets. */
    position: sticky;
    top: var(--hub-sticky-top, 0);
    z-index: 1;
    border-bottom: 1px solid var(--hub-border, #d0d7de);
  }
  li.row[data-signal] {
    box-shadow: inset 4px 0 0 var(--signal);
  }
  li.row[data-signal='offline'] {
    --signal: var(--hub-offline, #cf222e);
  }
  li.row[data-signal='quiet'] {
    --signal: var(--hub-warning, #9a6700);
  }
  li.row[data-signal='unknown'] {
    --signal: var(--hub-unknown, #57606a);
  }
  .signal {
    font-size: 0.8rem;
    font-weight: 600;
    color: var(--signal);
  }
  .stale .value {
    color: var(--hub-text-muted, #57606a);
  }
  ul.rows {
    list-style: none;
    margin: 0;
    padding: 0;
  }
  .name {
    font-weight: 600;
    overflow-wrap: anywhere;
    color: inherit;
    text-decoration: none;
  }
  a.name:hover {
    color: var(--hub-accent, #2563eb);
    text-decoration: underline;
  }
  li.row {
    cursor: pointer;
  }
  li.row:hover {
    background: var(--hub-surface-hover, #f3f4f6);
  }
  .id,
  .detail,
  .kind,
  .muted {
    color: var(--hub-text-muted, #57606a);
    font-size: 0.85rem;
  }
  .id {
    display: block;
    font-family: var(--hub-mono, ui-monospace, monospace);
    overflow-wrap: anywhere;
  }
  .presence {
    display: grid;
    gap: 0.25rem;
    justify-items: start;
  }
  .values {
    display: flex;
    flex-wrap: wrap;
    gap: 0.35rem;
    margin: 0;
    padding: 0;
    list-style: none;
  }
  .values li {
    display: inline-flex;
    gap: 0.4em;
    align-items: baseline;
    padding: 0.1rem 0.5rem;
    border-radius: var(--hub-radius-sm, 6px);
    background: var(--hub-surface-2, #f6f8fa);
    font-size: 0.875rem;
  }
  .metric {
    color: var(--hub-text-muted, #57606a);
  }
  .value {
    font-weight: 600;
    font-variant-numeric: tabular-nums;
  }
  .alert {
    color: var(--hub-offline, #cf222e);
    font-size: 0.8rem;
    font-weight: 600;
  }
  svg.spark {
    display: block;
    color: var(--hub-accent, #2563eb);
  }
  .empty {
    padding: 2.5rem 1rem;
    text-align: center;
    color: var(--hub-text-muted, #57606a);
    line-height: 1.5;
  }
  .empty strong {
    display: block;
    color: var(--hub-text, #1b1f24);
    font-size: 1.05rem;
    margin-bottom: 0.25rem;
  }
  @media (max-width: 760px) {
    .head {
      display: none;
    }
    .row {
      grid-template-columns: minmax(0, 1fr);
      gap: 0.35rem;
    }
    .ident {
      display: flex;
      flex-wrap: wrap;
      align-items: baseline;
      gap: 0 0.5rem;
    }
    .presence {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      gap: 0.25rem 0.5rem;
    }
  }
`;
