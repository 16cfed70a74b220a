/** Severity colours of alerts, shared by the badge, toasts, lists and device rows; the text always names the severity too. */
import { css, html } from 'lit';

export const severityStyles = css`
  .sev {
    display: inline-flex;
    align-items: center;
    gap: 0.35em;
    padding: 0.1rem 0.5rem;
    border-radius: 999px;
    font-size: 0.8rem;
    font-weight: 600;
    border: 1px solid currentColor;
  }
  .sev.critical {
    color: var(--hub-offline, #cf222e);
    background: var(--hub-offline-bg, #ffebe9);
  }
  .sev.warning {
    color: var(--hub-warning, #9a6700);
    background: var(--hub-warning-bg, #fff8c5);
  }
  .sev.info {
    color: var(--hub-accent, #2563eb);
    background: var(--hub-surface-2, #f6f8fa);
  }
  .sev.none {
    color: var(--hub-text-muted, #57606a);
    background: transparent;
  }
`;

/** What a viewer reads next to a control it cannot use: the same words as the device controls. */
export const READ_ONLY_HINT = 'Your role can look, not command: ask an operator.';

/** A bell, drawn (an emoji needs a font the system may lack); decorative, the text says the rest. */
export const bellIcon = html`<svg width="12" height="12" viewBox="0 0 24 24" aria-hidden="true" fill="currentColor"><path d="M12 2a6 6 0 0 0-6 6v4.5L4 16v1h16v-1l-2-3.5V8a6 6 0 0 0-6-6zm-2.5 17a2.5 2.5 0 0 0 5 0z" /></svg>`;
