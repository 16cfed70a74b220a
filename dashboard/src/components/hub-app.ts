/**
 * <hub-app>: the page. Token gate (URL fragment, saved token or the form),
 * header with the live connection's status, and the route: the overview
 * (presence counts, the telemetry store's status from /healthz, the list)
 * or one device's page. The live socket subscribes to what the route shows.
 *
 * The overview's place is kept: its list view in the URL, its scroll
 * position in the history entry (and in memory for the device page's back
 * link), restored when the operator comes back. While the hub is
 * unreachable the page says so plainly, marks every value as last known and
 * disables sending.
 */
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, query, state } from 'lit/decorators.js';
import { AlertsController } from '../controllers/alerts-controller.js';
import { ClockController } from '../controllers/clock-controller.js';
import { HealthController } from '../controllers/health-controller.js';
import { LiveController } from '../controllers/live-controller.js';
import { OverviewFeedController } from '../controllers/overview-feed-controller.js';
import { RouteController } from '../controllers/route-controller.js';
import { ApiError, getMe, login, logout, SESSION_COOKIE_AUTH } from '../data/api.js';
import type { PresenceCounts } from '../data/device-store.js';
import type { ListView } from '../data/list-view.js';
import { RATE_WINDOW_MS } from '../data/overview.js';
import { parseListView, listViewQuery } from '../data/list-view.js';
import { hubUnreachable, TOKEN_REFUSED } from '../data/live-connection.js';
import { interestFor, routeHash, samePage, type Route } from '../data/router.js';
import { adoptToken, clearToken, saveToken } from '../data/token-storage.js';
import type { AlertsPage } from './alerts-page.js';
import type { DevicePage } from './device-page.js';
import type { RulesPage } from './rules-page.js';
import type { RowsShownDetail } from './device-list.js';
import { baseStyles } from './shared-styles.js';
import type { LoginSubmitDetail, TokenSubmitDetail } from './token-form.js';
import type { SessionView } from '@iot-hub/protocol';
import './alert-badge.js';
import './alert-toasts.js';
import './alerts-page.js';
import './connection-badge.js';
import './device-list.js';
import './device-page.js';
import './rules-page.js';
import './store-status-banner.js';
import './theme-picker.js';
import './token-form.js';

/** How long a saved overview position is waited for while the list grows to it (after a reload it loads first). */
const RESTORE_SCROLL_MS = 5000;

const COUNT_LABELS: Array<[keyof PresenceCounts, string]> = [
  ['online', 'Online'],
  ['offline', 'Offline'],
  ['unknown', 'Unknown'],
  ['total', 'Total'],
];

function formatRate(perSecond: number): string {
  return perSecond >= 10 ? Math.round(perSecond).toLocaleString() : perSecond.toFixed(1);
}

function browserStorage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined; // Storage disabled by the browser's settings.
  }
}

@customElement('hub-app')
export class HubApp extends LitElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: block;
        min-height: 100vh;
      }
      header {
        position: sticky;
        top: 0;
        z-index: 1;
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.75rem 1rem;
        padding: 0.75rem clamp(1rem, 3vw, 2rem);
        background: var(--hub-surface, #fff);
        border-bottom: 1px solid var(--hub-border, #d0d7de);
      }
      h1 {
        margin: 0;
        font-size: 1.1rem;
        display: flex;
        align-items: center;
        gap: 0.5rem;
      }
      h1 svg {
        color: var(--hub-accent, #2563eb);
      }
      a.home {
        display: inline-flex;
        align-items: center;
        gap: 0.5rem;
        color: inherit;
        text-decoration: none;
      }
      h2.page-title:focus,
      main:focus {
        outline: none;
      }
      .skip {
        position: absolute;
        left: 0.5rem;
        top: -3rem;
        z-index: 2;
        padding: 0.5rem 0.9rem;
        background: var(--hub-surface, #fff);
        color: var(--hub-accent, #2563eb);
        border: 2px solid var(--hub-accent, #2563eb);
        border-radius: var(--hub-radius-sm, 6px);
      }
      .skip:focus {
        top: 0.5rem;
      }
      main a {
        color: var(--hub-accent, #2563eb);
      }
      .spacer {
        flex: 1;
      }
      .link {
        border: 0;
        background: none;
        color: var(--hub-text-muted, #57606a);
        font-size: 0.875rem;
        padding: 0.25rem;
      }
      .link:hover {
        background: none;
        color: var(--hub-text, #1b1f24);
        text-decoration: underline;
      }
      main {
        padding: 1.25rem clamp(1rem, 3vw, 2rem) 3rem;
        max-width: 90rem;
        margin: 0 auto;
      }
      .counts {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(8rem, 1fr));
        gap: 0.75rem;
        margin: 0 0 1.25rem;
      }
      .count {
        padding: 0.75rem 1rem;
        background: var(--hub-surface, #fff);
        border: 1px solid var(--hub-border, #d0d7de);
        border-radius: var(--hub-radius, 10px);
      }
      .count dt {
        font-size: 0.8rem;
        color: var(--hub-text-muted, #57606a);
        display: flex;
        align-items: center;
        gap: 0.4em;
      }
      .count dt::before {
        content: '';
        width: 0.55em;
        height: 0.55em;
        border-radius: 50%;
        background: var(--dot, transparent);
      }
      .count.online {
        --dot: var(--hub-online, #1a7f37);
      }
      .count.offline {
        --dot: var(--hub-offline, #cf222e);
      }
      .count.unknown {
        --dot: var(--hub-unknown, #57606a);
      }
      .count.total dt::before,
      .count.rate dt::before {
        display: none;
      }
      .count dd {
        margin: 0.15rem 0 0;
        font-size: 1.6rem;
        font-weight: 650;
        font-variant-numeric: tabular-nums;
      }
      .banner {
        margin: 0 0 1rem;
        padding: 0.6rem 0.9rem;
        border-radius: var(--hub-radius-sm, 6px);
        border: 1px solid var(--hub-warning, #9a6700);
        background: var(--hub-warning-bg, #fff8c5);
        color: var(--hub-text, #1b1f24);
      }
      .banner.error {
        border-color: var(--hub-offline, #cf222e);
        background: var(--hub-offline-bg, #ffebe9);
      }
    `,
  ];

  /** The bearer token in use, SESSION_COOKIE_AUTH when signed in with a password; null shows the sign-in form. */
  @state() private token: string | null = null;
  /** Who is signed in and with what role, once the hub has said. */
  @state() private me: SessionView | null = null;
  @state() private loggingIn = false;
  /** Why the token form is shown again. */
  @state() private authError = '';

  private readonly live = new LiveController(this, { onUnauthorized: (reason) => this.unauthorized(reason) });
  private readonly clock = new ClockController(this);
  private readonly health = new HealthController(this);
  private readonly router = new RouteController(this);
  private readonly overview = new OverviewFeedController(this);
  private readonly alerts = new AlertsController(this);
  private shownRoute: Route | null = null;
  /** The overview as last shown (its list view), for the device page's back link. */
  private overviewHash = '#/';
  /** Its scroll position then: the back link opens a new history entry, which has none saved. */
  private overviewScroll = 0;
  /** A scroll position to restore once the list is tall enough; null when none is pending. */
  private pendingScroll: number | null = null;
  /** When the pending position was set: it is given up after RESTORE_SCROLL_MS, however many updates came between. */
  private pendingScrollSince = 0;
  private shownView: { query: string; view: ListView } | null = null;
  private scrollSaveTimer: ReturnType<typeof setTimeout> | undefined;
  private headerObserver: ResizeObserver | null = null;
  @query('header') private header!: HTMLElement | null;
  @query('main') private mainElement!: HTMLElement | null;
  @query('device-page') private devicePage!: DevicePage | null;
  @query('h2.page-title') private overviewTitle!: HTMLElement | null;

  override willUpdate(_changed: PropertyValues<this>): void {
    // Before the socket opens (it opens in hostConnected, after this for the first render) or while it is open.
    this.live.setInterest(interestFor(this.router.route));
    this.overview.attach(this.live.session);
    this.alerts.attach(this.live.session);
    // The device page's socket carries its own device's alerts only.
    this.alerts.setPolling(this.router.route.page === 'device');
  }

  override firstUpdated(): void {
    // The list's sticky column header sits below the page's sticky header, whatever its height.
    this.headerObserver = new ResizeObserver(() => this.style.setProperty('--hub-sticky-top', `${this.header?.offsetHeight ?? 0}px`));
    if (this.header) this.headerObserver.observe(this.header);
  }

  override updated(_changed: PropertyValues<this>): void {
    const route = this.router.route;
    const arrived = this.shownRoute === null || !samePage(route, this.shownRoute);
    if (route.page === 'overview') this.overviewHash = routeHash(route);
    if (arrived && this.token !== null) {
      if (route.page === 'overview') {
        // Back (or a reload) finds the position in its history entry; the back link, in memory.
        const saved = this.router.savedScroll() ?? (this.shownRoute?.page === 'device' ? this.overviewScroll : null);
        this.pendingScroll = saved;
        this.pendingScrollSince = Date.now();
        if (saved === null && this.shownRoute !== null) window.scrollTo({ top: 0 });
      } else if (this.shownRoute !== null) {
        // A new page: start reading at its top.
        window.scrollTo({ top: 0 });
      }
      if (this.shownRoute !== null) {
        // And at its heading, for keyboard and screen reader users.
        if (route.page === 'device') this.devicePage?.focusHeading();
        else if (route.page === 'alerts' || route.page === 'rules') this.renderRoot.querySelector<AlertsPage | RulesPage>(`${route.page}-page`)?.focusHeading();
        else this.overviewTitle?.focus({ preventScroll: true });
      }
    }
    this.shownRoute = route;
    this.restoreScroll();
    document.title = this.pageTitle();
  }

  /** The tab names the page and the device, so several open tabs and the history list can be told apart. */
  private pageTitle(): string {
    if (this.token === null) return 'Sign in · IoT Hub';
    const route = this.router.route;
    switch (route.page) {
      case 'overview':
        return 'All devices · IoT Hub';
      case 'device': {
        const device = this.live.devices.devices.get(route.deviceId);
        return `${device?.name || route.deviceId} · IoT Hub`;
      }
      case 'alerts':
        return `Alerts (${this.alerts.store.counts().firing} firing) · IoT Hub`;
      case 'rules':
        return 'Alert rules · IoT Hub';
      case 'not-found':
        return 'Page not found · IoT Hub';
    }
  }

  /** Scrolls to the pending position once the list has rendered tall enough: updates (live events, alerts) come in any number meanwhile. */
  private restoreScroll(): void {
    const y = this.pendingScroll;
    if (y === null || this.router.route.page !== 'overview' || !this.live.devices.complete) return;
    void this.renderRoot.querySelector('device-list')?.updateComplete.then(() => {
      if (this.pendingScroll !== y) return;
      window.scrollTo({ top: y });
      if (Math.abs(window.scrollY - y) < 2 || Date.now() - this.pendingScrollSince > RESTORE_SCROLL_MS) {
        this.pendingScroll = null;
        // Saved into this history entry now: the scroll event of the restore may have come while it was pending
        // (and was ignored), and the back link's entry had no position of its own for a reload to find.
        this.overviewScroll = window.scrollY;
        this.router.saveScroll(window.scrollY);
      }
    });
  }

  private readonly onScroll = (): void => {
    if (this.router.route.page !== 'overview' || this.pendingScroll !== null) return;
    clearTimeout(this.scrollSaveTimer);
    this.scrollSaveTimer = setTimeout(() => {
      if (this.router.route.page !== 'overview') return;
      this.overviewScroll = window.scrollY;
      this.router.saveScroll(window.scrollY);
    }, 150);
  };

  /** Leaving the overview by a link: its place must be saved now, not after the debounce. */
  private saveOverviewPlace(): void {
    if (this.router.route.page !== 'overview') return;
    clearTimeout(this.scrollSaveTimer);
    this.overviewScroll = window.scrollY;
    this.router.saveScroll(window.scrollY);
  }

  override connectedCallback(): void {
    if (this.token === null) this.adoptTokenFromUrl();
    // No token: maybe this browser still has a session cookie.
    if (this.token === null) void this.resumeSession();
    // A `#token=` link opened in this tab changes only the fragment: no reload.
    window.addEventListener('hashchange', this.onHashChange);
    window.addEventListener('scroll', this.onScroll, { passive: true });
    // Before the route controller's own hashchange listener: the overview's place is saved before the page changes.
    window.addEventListener('click', this.onLinkClick, true);
    // Opens the live socket through the controller's hostConnected.
    super.connectedCallback();
  }

  override disconnectedCallback(): void {
    window.removeEventListener('hashchange', this.onHashChange);
    window.removeEventListener('scroll', this.onScroll);
    window.removeEventListener('click', this.onLinkClick, true);
    clearTimeout(this.scrollSaveTimer);
    this.headerObserver?.disconnect();
    super.disconnectedCallback();
  }

  private readonly onLinkClick = (): void => this.saveOverviewPlace();

  private readonly onHashChange = (): void => {
    if (window.location.hash.includes('token=')) this.adoptTokenFromUrl();
  };

  private adoptTokenFromUrl(): void {
    const token = adoptToken({ location: window.location, history: window.history, storage: browserStorage() });
    if (token === null) return;
    this.useToken(token);
  }

  private async resumeSession(): Promise<void> {
    try {
      const me = await getMe({ token: SESSION_COOKIE_AUTH });
      if (this.token === null) this.useToken(SESSION_COOKIE_AUTH, me);
    } catch {
      // Not signed in: the form stays.
    }
  }

  private useToken(token: string, me: SessionView | null = null): void {
    this.authError = '';
    this.token = token;
    this.me = me;
    this.live.setToken(token);
    this.health.setToken(token);
    if (me === null) {
      getMe({ token }).then(
        (who) => {
          if (this.token === token) this.me = who;
        },
        () => undefined, // The live socket reports a refused token.
      );
    }
  }

  override render() {
    return html`
      <a class="skip" href=${routeHash(this.router.route)} @click=${this.skipToMain}>Skip to content</a>
      <header>
        <h1>
          <a class="home" href="#/">
            <svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2">
              <circle cx="12" cy="12" r="3" />
              <path d="M5 12a7 7 0 0 1 14 0M2 12a10 10 0 0 1 20 0" stroke-linecap="round" />
            </svg>
            IoT Hub
          </a>
        </h1>
        <span class="spacer"></span>
        <theme-picker></theme-picker>
        ${this.token === null
          ? nothing
          : html`<alert-badge .counts=${this.alerts.store.counts()}></alert-badge>
              <connection-badge .state=${this.live.connection} @retry=${() => this.live.retryNow()}></connection-badge>
              ${this.me ? html`<span class="link" data-user=${this.me.user}>${this.me.user} (${this.me.role})</span>` : nothing}
              <button class="link" type="button" @click=${this.signOut}>Sign out</button>`}
      </header>
      <main id="main" tabindex="-1">${this.token === null ? this.renderTokenForm() : this.renderRoute()}</main>
      ${this.token === null
        ? nothing
        : html`<alert-toasts
            .toasts=${this.alerts.toasts.current(this.clock.now)}
            @toast-dismiss=${(event: CustomEvent<string>) => this.alerts.dismissToast(event.detail)}
          ></alert-toasts>`}
    `;
  }

  /** The skip link moves focus past the header; its href is the current route, so following it by other means changes nothing. */
  private skipToMain(event: Event): void {
    event.preventDefault();
    this.mainElement?.focus();
  }

  private renderTokenForm() {
    return html`<token-form .error=${this.authError} ?busy=${this.loggingIn} @token-submit=${this.onTokenSubmit} @login-submit=${this.onLoginSubmit}></token-form>`;
  }

  private renderRoute() {
    const route = this.router.route;
    switch (route.page) {
      case 'overview':
        return this.renderDevices();
      case 'device': {
        const { devices, synced } = this.live.devices;
        return html`${this.renderConnectionProblem()}
          <device-page
            .session=${this.live.session}
            .deviceId=${route.deviceId}
            .device=${devices.get(route.deviceId)}
            ?synced=${synced}
            .now=${this.clock.now}
            ?readOnly=${this.me?.role === 'viewer'}
            ?canEdit=${this.me?.role === 'admin'}
            ?unreachable=${hubUnreachable(this.live.connection)}
            .overviewHref=${this.overviewHash}
            .alerts=${this.alerts.store.forDevice(route.deviceId)}
            @alert-changed=${() => void this.alerts.refresh()}
          ></device-page>`;
      }
      case 'alerts':
        return html`${this.renderConnectionProblem()}
          <alerts-page
            .tab=${route.tab}
            .alerts=${this.alerts.store.sorted()}
            .auth=${this.live.session?.auth ?? null}
            ?readOnly=${this.me?.role === 'viewer'}
            .now=${this.clock.now}
            .error=${this.alerts.error}
            @alert-changed=${() => void this.alerts.refresh()}
          ></alerts-page>`;
      case 'rules':
        return html`${this.renderConnectionProblem()}
          <rules-page .auth=${this.live.session?.auth ?? null} ?readOnly=${this.me?.role === 'viewer'}></rules-page>`;
      case 'not-found':
        return html`<h2 class="page-title" tabindex="-1">Page not found</h2>
          <p class="banner">There is no page at <code>#${route.path}</code>. <a href="#/">Show all devices</a></p>`;
    }
  }

  /** Plain words at the first failure; the technical reason is in the connection badge's tooltip. */
  private renderConnectionProblem() {
    if (!hubUnreachable(this.live.connection)) return nothing;
    const { synced } = this.live.devices;
    return html`<p class="banner error" role="alert" data-unreachable>
      <strong>The hub is unreachable.</strong>
      ${synced ? 'Every value shown is the last known one, and commands cannot be sent until it is back.' : 'Nothing can be shown until it is back.'}
      Retrying automatically.
    </p>`;
  }

  private renderDevices() {
    const { devices, counts, complete, stale } = this.live.devices;
    return html`
      <h2 class="page-title visually-hidden" tabindex="-1">All devices</h2>
      <dl class="counts" aria-label="Device counts">
        ${COUNT_LABELS.map(
          ([key, label]) => html`<div class="count ${key}" data-count=${key}>
            <dt>${label}</dt>
            <dd>${counts[key]}</dd>
          </div>`,
        )}
        <div class="count rate" data-count="rate" title=${`Telemetry messages per second, over the last ${RATE_WINDOW_MS / 1000} s`}>
          <dt>Messages/s</dt>
          <dd>${formatRate(this.overview.currentRate())}</dd>
        </div>
      </dl>
      <store-status-banner .health=${this.health.state.health} .now=${this.clock.now}></store-status-banner>
      ${stale
        ? html`<p class="banner" role="status">Some live updates were dropped; reloading the current state…</p>`
        : nothing}
      ${this.renderConnectionProblem()}
      <device-list
        .devices=${devices}
        .view=${this.listView()}
        ?stale=${hubUnreachable(this.live.connection)}
        .alertStates=${this.alerts.store.byDevice()}
        @view-change=${this.onViewChange}
        .now=${this.clock.now}
        ?loading=${!complete}
        .sparks=${this.overview.sparks}
        .sparkVersion=${this.overview.sparks.version}
        @rows-shown=${(event: CustomEvent<RowsShownDetail>) => this.overview.showRows(event.detail.ids)}
      ></device-list>
    `;
  }

  /** The same object while the URL names the same view, so the list does not refilter on every clock tick. */
  private listView(): ListView {
    const route = this.router.route;
    const query = route.page === 'overview' ? (route.query ?? '') : '';
    if (this.shownView?.query !== query) this.shownView = { query, view: parseListView(query) };
    return this.shownView.view;
  }

  private readonly onViewChange = (event: CustomEvent<ListView>): void => {
    const query = listViewQuery(event.detail);
    this.router.replace(query === '' ? { page: 'overview' } : { page: 'overview', query });
  };

  private onTokenSubmit(event: CustomEvent<TokenSubmitDetail>): void {
    saveToken(browserStorage(), event.detail.token);
    this.useToken(event.detail.token);
  }

  private async onLoginSubmit(event: CustomEvent<LoginSubmitDetail>): Promise<void> {
    this.loggingIn = true;
    try {
      const me = await login({}, event.detail.username, event.detail.password);
      this.useToken(SESSION_COOKIE_AUTH, me);
    } catch (error) {
      this.authError =
        error instanceof ApiError && error.status === 401
          ? 'Wrong username or password.'
          : error instanceof ApiError && error.status === 429
            ? 'Too many attempts: wait a minute and try again.'
            : `Cannot sign in: ${(error as Error).message}`;
    } finally {
      this.loggingIn = false;
    }
  }

  private unauthorized(reason: string): void {
    clearToken(browserStorage());
    const detail = reason === TOKEN_REFUSED ? '' : ` (${reason})`;
    this.authError =
      this.token === SESSION_COOKIE_AUTH ? 'Your session has ended: sign in again.' : `The hub did not accept this token${detail}. Enter the admin token again.`;
    this.token = null;
    this.me = null;
    this.live.setToken(null);
    this.health.setToken(null);
  }

  private signOut(): void {
    if (this.token === SESSION_COOKIE_AUTH) void logout({ token: SESSION_COOKIE_AUTH }).catch(() => undefined);
    clearToken(browserStorage());
    this.authError = '';
    this.token = null;
    this.me = null;
    this.live.setToken(null);
    this.health.setToken(null);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'hub-app': HubApp;
  }
}
