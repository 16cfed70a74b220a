/**
 * The toasts on screen: one per new critical alert, newest last, at most
 * MAX_TOASTS (the oldest goes when a storm brings more: the Alerts page has
 * them all). Each leaves when dismissed or after TOAST_MS. No DOM.
 */
import type { AlertView } from '@iot-hub/protocol';

export const MAX_TOASTS = 4;
export const TOAST_MS = 20_000;

export interface Toast {
  alert: AlertView;
  shownAt: number;
}

export class ToastStack {
  private items: Toast[] = [];

  constructor(
    private readonly max = MAX_TOASTS,
    private readonly lifeMs = TOAST_MS,
  ) {}

  push(alert: AlertView, now: number): void {
    this.items = [...this.items.filter((toast) => toast.alert.id !== alert.id), { alert, shownAt: now }].slice(-this.max);
  }

  dismiss(alertId: string): void {
    this.items = this.items.filter((toast) => toast.alert.id !== alertId);
  }

  /** Those still to show at `now` (expired ones are dropped). */
  current(now: number): readonly Toast[] {
    if (this.items.some((toast) => now - toast.shownAt >= this.lifeMs)) this.items = this.items.filter((toast) => now - toast.shownAt < this.lifeMs);
    return this.items;
  }
}
