/** The styles of <device-controls>: the list of controls, the switch, pending marks and the phone layout. */
import { css } from 'lit';

export const deviceControlsStyles = css`
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
  select[data-pending],
  input[type='range'][data-pending] {
    outline: 2px dashed var(--hub-warning, #9a6700);
    outline-offset: 2px;
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
`;
