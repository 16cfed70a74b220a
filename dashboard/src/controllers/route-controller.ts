/**
 * The page's current route, read from the URL fragment: re-renders the host
 * when the fragment names another page (links, back and forward buttons).
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { parseRoute, routeHash, sameRoute, type Route } from '../data/router.js';

export class RouteController implements ReactiveController {
  route: Route = parseRoute(window.location.hash);
  private readonly host: ReactiveControllerHost;

  constructor(host: ReactiveControllerHost) {
    this.host = host;
    host.addController(this);
  }

  hostConnected(): void {
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

  private readonly onHashChange = (): void => {
    const next = parseRoute(window.location.hash);
    if (sameRoute(next, this.route)) return;
    this.route = next;
    this.host.requestUpdate();
  };
}
