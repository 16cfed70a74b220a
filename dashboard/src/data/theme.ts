/**
 * The colour theme: follow the system (the default), or always light or
 * dark. The choice is kept in localStorage and applied as `data-theme` on
 * the root element, which index.html's design tokens key on. Storage is a
 * parameter so tests need no DOM.
 */
import type { KeyValueStorage } from './token-storage.js';

export type ThemeChoice = 'system' | 'light' | 'dark';
export const THEME_CHOICES: readonly ThemeChoice[] = ['system', 'light', 'dark'];
export const THEME_STORAGE_KEY = 'iot-hub.theme';
/** Fired on `document` after the theme changed, for what draws its own colours (charts). */
export const THEME_CHANGE_EVENT = 'hub-theme-change';

export function isThemeChoice(value: unknown): value is ThemeChoice {
  return typeof value === 'string' && (THEME_CHOICES as readonly string[]).includes(value);
}

export function loadTheme(storage: KeyValueStorage | undefined): ThemeChoice {
  try {
    const saved = storage?.getItem(THEME_STORAGE_KEY);
    return isThemeChoice(saved) ? saved : 'system';
  } catch {
    return 'system';
  }
}

export function saveTheme(storage: KeyValueStorage | undefined, choice: ThemeChoice): void {
  try {
    if (choice === 'system') storage?.removeItem(THEME_STORAGE_KEY);
    else storage?.setItem(THEME_STORAGE_KEY, choice);
  } catch {
    // Storage disabled: the choice holds for this page load.
  }
}

/** The `data-theme` value for a choice; none while following the system. */
export function themeAttribute(choice: ThemeChoice): string | null {
  return choice === 'system' ? null : choice;
}
