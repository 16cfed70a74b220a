/**
 * The page's current route, read from the URL fragment: re-renders the host
 * when the fragment names another page (links, back and forward buttons).
 * It also keeps the overview's place: its list view lives in the fragment
 * (replaced, not pushed, as the operator types), its scroll position in the
 * history entry's state, so Back and a reload return to the same place.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { parseRoute, routeHash, sameRoute, type Route } from '../data/router.js';

interface EntryState {
  scrollY?: number;
}

export class RouteController implements ReactiveController {
  route: Route = parseRoute(window.location.hash);
  private readonly host: ReactiveControllerHost;

  constructor(host: ReactiveControllerHost) {
    this.host = host;
    host.addController(this);
  }

  hostConnected(): void {
    // The list renders after its data arrives: the page restores the scroll itself then.
    if ('scrollRestoration' in window.history) window.history.scrollRestoration = 'manual';
    window.addEventListener('hashchange', this.onHashChange);
    this.onHashChange();
  }

  hostDisconnected(): void {
    window.removeEventListener('hashchange', this.onHashChange);
  }

  /** Opens `route`: a new history entry, so the back button returns. */
  navigate(route: Route): void {
    const hash = routeHash(route);
    if (window.location.hash !== hash) window.location.hash = hash;
  }

  /** Shows `route` in the address bar in place of the current entry (a changed filter is not a new page). */
  replace(route: Route): void {
    const hash = routeHash(route);
    if (window.location.hash !== hash) window.history.replaceState(window.history.state, '', `${window.location.pathname}${window.location.search}${hash}`);
    if (sameRoute(route, this.route)) return;
    this.route = route;
    this.host.requestUpdate();
  }

  /** Remembers the scroll position in the current history entry. */
  saveScroll(scrollY: number): void {
    const state = (window.history.state ?? {}) as EntryState;
    if (state.scrollY === scrollY) return;
    window.history.replaceState({ ...state, scrollY }, '', window.location.href);
  }

  /** The scroll position saved in the current history entry, if any. */
  savedScroll(): number | null {
    const y = (window.history.state as EntryState | null)?.scrollY;
    return typeof y === 'number' && Number.isFinite(y) ? y : null;
  }

  private readonly onHashChange = (): void => {
    const next = parseRoute(window.location.hash);
    if (sameRoute(next, this.route)) return;
    this.route = next;
    this.host.requestUpdate();
  };
}
