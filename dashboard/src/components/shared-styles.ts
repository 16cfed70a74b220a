/**
 * Styles shared by several elements. Colours come from the CSS custom
 * properties defined in index.html (light and dark), which inherit into
 * every shadow root; the fallbacks keep an element readable on its own.
 */
import { css } from 'lit';

export const baseStyles = css`
  :host {
    color: var(--hub-text, #1b1f24);
    font-family: var(--hub-font, system-ui, sans-serif);
  }
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    margin: -1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
  button {
    font: inherit;
    color: inherit;
    cursor: pointer;
    border: 1px solid var(--hub-border, #d0d7de);
    background: var(--hub-surface, #fff);
    border-radius: var(--hub-radius-sm, 6px);
    padding: 0.35rem 0.75rem;
  }
  button:hover {
    background: var(--hub-surface-hover, #f3f4f6);
  }
  button.primary {
    background: var(--hub-accent, #2563eb);
    border-color: var(--hub-accent, #2563eb);
    color: var(--hub-on-accent, #fff);
  }
  button.primary:hover {
    filter: brightness(1.08);
  }
  :focus-visible {
    outline: 2px solid var(--hub-focus, #2563eb);
    outline-offset: 2px;
  }
  code {
    font-family: var(--hub-mono, ui-monospace, monospace);
    font-size: 0.9em;
    background: var(--hub-surface-2, #f6f8fa);
    padding: 0.1em 0.35em;
    border-radius: 4px;
  }
`;

/** A pill with a coloured dot; the text always says the state, colour is only a cue. */
export const badgeStyles = css`
  .badge {
    display: inline-flex;
    align-items: center;
    gap: 0.4em;
    padding: 0.15rem 0.6rem;
    border-radius: 999px;
    font-size: 0.8rem;
    font-weight: 600;
    line-height: 1.4;
    white-space: nowrap;
    color: var(--badge-fg);
    background: var(--badge-bg);
    --badge-fg: var(--hub-unknown, #57606a);
    --badge-bg: var(--hub-unknown-bg, #eaeef2);
  }
  .badge::before {
    content: '';
    width: 0.55em;
    height: 0.55em;
    border-radius: 50%;
    background: currentColor;
  }
  .badge.online,
  .badge.live {
    --badge-fg: var(--hub-online, #1a7f37);
    --badge-bg: var(--hub-online-bg, #dafbe1);
  }
  .badge.offline,
  .badge.unauthorized {
    --badge-fg: var(--hub-offline, #cf222e);
    --badge-bg: var(--hub-offline-bg, #ffebe9);
  }
  .badge.connecting,
  .badge.reconnecting {
    --badge-fg: var(--hub-warning, #9a6700);
    --badge-bg: var(--hub-warning-bg, #fff8c5);
  }
  .badge.quiet {
    --badge-fg: var(--hub-warning, #9a6700);
    --badge-bg: var(--hub-warning-bg, #fff8c5);
  }
  /* A value from before the hub became unreachable: grey, dashed, whatever it said. */
  .badge.stale {
    --badge-fg: var(--hub-unknown, #57606a);
    --badge-bg: var(--hub-unknown-bg, #eaeef2);
    outline: 1px dashed currentColor;
  }
  .badge.connecting::before,
  .badge.reconnecting::before {
    animation: pulse 1.2s ease-in-out infinite;
  }
  @keyframes pulse {
    50% {
      opacity: 0.25;
    }
  }
  @media (prefers-reduced-motion: reduce) {
    .badge::before {
      animation: none !important;
    }
  }
`;

/** A titled card of the device page. */
export const panelStyles = css`
  :host {
    display: block;
  }
  section.panel {
    background: var(--hub-surface, #fff);
    border: 1px solid var(--hub-border, #d0d7de);
    border-radius: var(--hub-radius, 10px);
    padding: 0.9rem 1rem 1rem;
    min-width: 0;
  }
  .panel-head {
    display: flex;
    flex-wrap: wrap;
    align-items: baseline;
    gap: 0.25rem 0.75rem;
    margin-bottom: 0.75rem;
  }
  h2,
  h3 {
    margin: 0;
    font-size: 1rem;
  }
  .muted,
  .hint {
    color: var(--hub-text-muted, #57606a);
    font-size: 0.85rem;
  }
  .empty {
    padding: 1.25rem 0.5rem;
    text-align: center;
    color: var(--hub-text-muted, #57606a);
    line-height: 1.5;
  }
  .error {
    color: var(--hub-offline, #cf222e);
  }
  p.error,
  div.error {
    margin: 0.5rem 0;
    line-height: 1.45;
  }
  input,
  select {
    font: inherit;
    color: inherit;
    padding: 0.35rem 0.5rem;
    background: var(--hub-bg, #f6f8fa);
    border: 1px solid var(--hub-border, #d0d7de);
    border-radius: var(--hub-radius-sm, 6px);
    min-width: 0;
  }
  input[aria-invalid='true'] {
    border-color: var(--hub-offline, #cf222e);
  }
  button:disabled {
    cursor: not-allowed;
    opacity: 0.6;
  }
`;

/** Command states as pills: the text says the state, colour is only a cue. */
export const commandStateStyles = css`
  .state {
    display: inline-flex;
    align-items: center;
    gap: 0.35em;
    padding: 0.05rem 0.5rem;
    border-radius: 999px;
    font-size: 0.78rem;
    font-weight: 600;
    white-space: nowrap;
    color: var(--state-fg);
    background: var(--state-bg);
    --state-fg: var(--hub-unknown, #57606a);
    --state-bg: var(--hub-unknown-bg, #eaeef2);
  }
  .state.queued,
  .state.sent,
  .state.acknowledged,
  .state.posting {
    --state-fg: var(--hub-warning, #9a6700);
    --state-bg: var(--hub-warning-bg, #fff8c5);
  }
  .state.succeeded {
    --state-fg: var(--hub-online, #1a7f37);
    --state-bg: var(--hub-online-bg, #dafbe1);
  }
  .state.failed,
  .state.timed_out,
  .state.expired,
  .state.refused {
    --state-fg: var(--hub-offline, #cf222e);
    --state-bg: var(--hub-offline-bg, #ffebe9);
  }
`;
