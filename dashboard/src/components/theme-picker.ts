/**
 * <theme-picker>: System, Light or Dark, in the header. Applies the choice
 * to the root element at once, keeps it in this browser, and tells what
 * draws its own colours (charts) through a document event.
 */
import { LitElement, css, html } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { isThemeChoice, loadTheme, saveTheme, THEME_CHANGE_EVENT, themeAttribute, type ThemeChoice } from '../data/theme.js';
import { baseStyles } from './shared-styles.js';

const LABELS: Record<ThemeChoice, string> = { system: 'System', light: 'Light', dark: 'Dark' };

function browserStorage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

/** Puts `choice` on the root element; main.ts calls it before the first render. */
export function applyTheme(choice: ThemeChoice): void {
  const value = themeAttribute(choice);
  if (value === null) delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = value;
  document.dispatchEvent(new Event(THEME_CHANGE_EVENT));
}

export function applySavedTheme(): void {
  applyTheme(loadTheme(browserStorage()));
}

@customElement('theme-picker')
export class ThemePicker extends LitElement {
  static override styles = [
    baseStyles,
    css`
      select {
        font: inherit;
        font-size: 0.85rem;
        color: var(--hub-text-muted, #57606a);
        background: transparent;
        border: 1px solid var(--hub-border, #d0d7de);
        border-radius: var(--hub-radius-sm, 6px);
        padding: 0.2rem 0.35rem;
      }
    `,
  ];

  @state() private choice: ThemeChoice = loadTheme(browserStorage());

  override render() {
    return html`<label class="visually-hidden" for="theme">Colour theme</label>
      <select id="theme" @change=${this.change}>
        ${(Object.keys(LABELS) as ThemeChoice[]).map((choice) => html`<option value=${choice} ?selected=${choice === this.choice}>${LABELS[choice]}</option>`)}
      </select>`;
  }

  private change(event: Event): void {
    const value = (event.target as HTMLSelectElement).value;
    if (!isThemeChoice(value)) return;
    this.choice = value;
    saveTheme(browserStorage(), value);
    applyTheme(value);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'theme-picker': ThemePicker;
  }
}
