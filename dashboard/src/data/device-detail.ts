/**
 * Everything a device page shows beyond the DeviceView: metric history,
 * desired/reported state, the command timeline, and how the commands this
 * page sent are doing. Fetched over HTTP when the page opens (and again
 * after the live socket resyncs, since events may have been missed), then
 * kept current from the live socket's events for this device, without
 * fetching again. Like DeviceStore, changes are applied at once and
 * published at most once per frame as one immutable state. No DOM: the API
 * calls are injected, so tests drive it in Node.
 */
import type {
  CommandListResponse,
  CommandView,
  DashboardEvent,
  DesiredPatchRequest,
  DeviceStateView,
  HistoryResponse,
  StateValue,
} from '@iot-hub/protocol';
import type { HistoryQuery } from './api.js';
import { applyCommand, applyPage, EMPTY_TIMELINE, type CommandTimeline } from './command-timeline.js';
import { animationFrameScheduler, type FrameScheduler } from './device-store.js';
import { answerIsNewer } from './device-state.js';
import {
  catchUp,
  DEFAULT_RANGE,
  extendHistory,
  historyFromResponse,
  rangeBounds,
  rangeIsLive,
  slideTo,
  type HistoryData,
  type HistoryRange,
  type LiveSample,
} from './history.js';

/** The calls a device page makes, bound to its device and the token. */
export interface DeviceDetailApi {
  getHistory(query: HistoryQuery, signal: AbortSignal): Promise<HistoryResponse>;
  listCommands(page: { limit: number; before?: string }, signal: AbortSignal): Promise<CommandListResponse>;
  getState(signal: AbortSignal): Promise<DeviceStateView>;
  sendCommand(name: string, params: Record<string, unknown>): Promise<CommandView>;
  cancelCommand(id: string): Promise<CommandView>;
  patchDesired(patch: DesiredPatchRequest): Promise<DeviceStateView>;
}

export type LoadStatus = 'loading' | 'ready' | 'error';

export interface HistoryView {
  range: HistoryRange;
  status: LoadStatus;
  data: HistoryData | null;
  error: string | null;
}

/** How the last command a control sent is doing, before and after the hub took it. */
export type SendStatus = { status: 'posting' } | { status: 'refused'; error: string } | { status: 'accepted'; commandId: string };

/** The desired-state edit of one key: being saved, or why it was refused. */
export type DesiredEdit = { key: string; status: 'saving' } | { key: string; status: 'error'; error: string };

export interface DeviceDetailState {
  readonly deviceId: string;
  readonly history: HistoryView;
  readonly state: { status: LoadStatus; view: DeviceStateView | null; error: string | null };
  readonly commands: { status: LoadStatus; timeline: CommandTimeline; error: string | null; loadingOlder: boolean };
  /** By control key. */
  readonly sends: ReadonlyMap<string, SendStatus>;
  readonly desiredEdit: DesiredEdit | null;
  /** The hub answered 404 for this device: it does not exist (or no longer). */
  readonly notFound: boolean;
}

export interface DeviceDetailOptions {
  deviceId: string;
  api: DeviceDetailApi;
  now?: () => number;
  schedule?: FrameScheduler;
  /** Commands per page of the timeline. */
  pageSize?: number;
  /** Points per chart the history asks for at first (setRange gives the charts' real width). */
  maxPoints?: number;
}

export type DeviceDetailListener = (state: DeviceDetailState) => void;

/** A readable reason from whatever a call threw. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/** An API answer saying there is no such device. */
function isNotFound(error: unknown): boolean {
  return (error as { status?: unknown } | null)?.status === 404;
}

export class DeviceDetail {
  private readonly api: DeviceDetailApi;
  private readonly now: () => number;
  private readonly schedule: FrameScheduler;
  private readonly pageSize: number;
  private readonly listeners = new Set<DeviceDetailListener>();
  private current: DeviceDetailState;
  private published: DeviceDetailState;
  private cancelFrame: (() => void) | null = null;
  private running = false;
  private maxPoints: number;
  /** Aborts every fetch in flight at stop(). */
  private aborter = new AbortController();
  /** Bumped per fetch of each kind: only the latest one's answer is used. */
  private readonly generation = { history: 0, state: 0, commands: 0 };
  /** Live samples that came while the history was being fetched. */
  private samplesDuringFetch: LiveSample[] = [];
  /** A state event came while the state was being fetched: it is at least as new as the answer. */
  private stateEventDuringFetch = false;

  constructor(options: DeviceDetailOptions) {
    this.api = options.api;
    this.now = options.now ?? Date.now;
    this.schedule = options.schedule ?? animationFrameScheduler;
    this.pageSize = options.pageSize ?? 50;
    this.maxPoints = options.maxPoints ?? 600;
    this.current = {
      deviceId: options.deviceId,
      history: { range: DEFAULT_RANGE, status: 'loading', data: null, error: null },
      state: { status: 'loading', view: null, error: null },
      commands: { status: 'loading', timeline: EMPTY_TIMELINE, error: null, loadingOlder: false },
      sends: new Map(),
      desiredEdit: null,
      notFound: false,
    };
    this.published = this.current;
  }

  get state(): DeviceDetailState {
    return this.published;
  }

  subscribe(listener: DeviceDetailListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Fetches everything; `range` and `maxPoints` set the history's first query. */
  start(range: HistoryRange = this.current.history.range, maxPoints = this.maxPoints): void {
    if (this.running) return;
    this.running = true;
    this.aborter = new AbortController();
    this.maxPoints = maxPoints;
    this.loadHistory(range);
    this.loadState();
    this.loadCommands();
  }

  /** Aborts what is in flight and forgets listeners; answers that still arrive are ignored. */
  stop(): void {
    this.running = false;
    this.aborter.abort();
    this.cancelFrame?.();
    this.cancelFrame = null;
    this.listeners.clear();
  }

  /**
   * After the live socket (re)subscribed: events may have been missed, so
   * read again. Right after the page's own subscribe only state and commands
   * need it (a missed command step would leave it looking stuck); after a
   * reconnect the history had a gap too.
   */
  refresh(what: { history: boolean } = { history: true }): void {
    if (!this.running) return;
    if (what.history) this.loadHistory(this.current.history.range);
    this.loadState();
    this.loadCommands();
  }

  /** Reads the state again (a retry after an error). */
  reloadState(): void {
    if (this.running) this.loadState();
  }

  /** Reads the first page of commands again (a retry after an error). */
  reloadCommands(): void {
    if (this.running) this.loadCommands();
  }

  setRange(range: HistoryRange, maxPoints = this.maxPoints): void {
    this.maxPoints = maxPoints;
    if (this.running) this.loadHistory(range);
    else this.current = { ...this.current, history: { ...this.current.history, range } };
  }

  /** Slides a live relative range with the clock, between samples. */
  tick(): void {
    const { data } = this.current.history;
    if (!data) return;
    const next = slideTo(data, this.now());
    if (next !== data) this.update({ history: { ...this.current.history, data: next } });
  }

  /** A live event; those about other devices are ignored. */
  applyEvent(event: DashboardEvent): void {
    const id = this.current.deviceId;
    switch (event.event) {
      case 'telemetry': {
        if (event.deviceId !== id) return;
        const { history } = this.current;
        if (history.status === 'loading') {
          this.samplesDuringFetch.push({ ts: event.ts, metrics: event.metrics });
          return;
        }
        if (!history.data || !rangeIsLive(history.range, this.now())) return;
        const data = extendHistory(history.data, event.ts, event.metrics, this.now());
        if (data !== history.data) this.update({ history: { ...history, data } });
        return;
      }
      case 'command': {
        if (event.command.deviceId !== id) return;
        const timeline = applyCommand(this.current.commands.timeline, event.command);
        if (timeline !== this.current.commands.timeline) this.update({ commands: { ...this.current.commands, timeline } });
        return;
      }
      case 'state':
        if (event.state.deviceId !== id) return;
        this.stateEventDuringFetch = true;
        this.update({ state: { status: 'ready', view: event.state, error: null } });
        return;
      default:
        return;
    }
  }

  /**
   * Sends a command for the control `key`. Its status goes from posting to
   * accepted (then the timeline tells how it goes on) or refused with the
   * hub's reason (422 bad parameters, 429 queue full, ...).
   */
  async send(key: string, name: string, params: Record<string, unknown>): Promise<void> {
    this.setSend(key, { status: 'posting' });
    try {
      const command = await this.api.sendCommand(name, params);
      if (!this.running) return;
      this.setSend(key, { status: 'accepted', commandId: command.id });
      this.update({ commands: { ...this.current.commands, timeline: applyCommand(this.current.commands.timeline, command) } });
    } catch (error) {
      if (this.running) this.setSend(key, { status: 'refused', error: errorMessage(error) });
    }
  }

  /** Cancels a command that has not ended; a refusal (it ended meanwhile) shows in the timeline anyway. */
  async cancel(commandId: string): Promise<string | null> {
    try {
      const command = await this.api.cancelCommand(commandId);
      if (this.running) this.update({ commands: { ...this.current.commands, timeline: applyCommand(this.current.commands.timeline, command) } });
      return null;
    } catch (error) {
      return errorMessage(error);
    }
  }

  /**
   * Sets (or with null, removes) one desired key, on the condition that
   * nobody changed the desired state since the version this page shows.
   */
  async setDesired(key: string, value: StateValue): Promise<void> {
    const view = this.current.state.view;
    this.update({ desiredEdit: { key, status: 'saving' } });
    try {
      const patch: DesiredPatchRequest = view ? { state: { [key]: value }, ifVersion: view.version } : { state: { [key]: value } };
      const answer = await this.api.patchDesired(patch);
      if (!this.running) return;
      const current = this.current.state.view;
      this.update({ desiredEdit: null, ...(answerIsNewer(current, answer) ? { state: { status: 'ready' as const, view: answer, error: null } } : {}) });
    } catch (error) {
      if (!this.running) return;
      const conflict = (error as { code?: string }).code === 'version_conflict';
      const message = conflict ? 'Someone changed the desired state meanwhile: the table now shows it; try again.' : errorMessage(error);
      this.update({ desiredEdit: { key, status: 'error', error: message } });
      if (conflict) this.loadState();
    }
  }

  clearDesiredEdit(): void {
    if (this.current.desiredEdit) this.update({ desiredEdit: null });
  }

  async loadOlderCommands(): Promise<void> {
    const { timeline, loadingOlder } = this.current.commands;
    if (loadingOlder || timeline.next === null) return;
    this.update({ commands: { ...this.current.commands, loadingOlder: true } });
    try {
      const page = await this.api.listCommands({ limit: this.pageSize, before: timeline.next }, this.aborter.signal);
      if (!this.running) return;
      this.update({ commands: { ...this.current.commands, timeline: applyPage(this.current.commands.timeline, page, true), loadingOlder: false } });
    } catch (error) {
      if (!this.running || isAbort(error)) return;
      this.update({ commands: { ...this.current.commands, loadingOlder: false, error: errorMessage(error) } });
    }
  }

  /** Publishes pending changes now instead of at the next frame. */
  flush(): void {
    this.cancelFrame?.();
    this.cancelFrame = null;
    if (this.published === this.current) return;
    this.published = this.current;
    for (const listener of this.listeners) {
      try {
        listener(this.published);
      } catch (error) {
        console.error('device-detail: listener failed', error);
      }
    }
  }

  private loadHistory(range: HistoryRange): void {
    const generation = ++this.generation.history;
    const maxPoints = this.maxPoints;
    const { from, to } = rangeBounds(range, this.now());
    this.samplesDuringFetch = [];
    // The old chart stays up while the new range loads, if it is the same range (a refresh).
    const sameData = this.current.history.range === range ? this.current.history.data : null;
    this.update({ history: { range, status: 'loading', data: sameData, error: null } });
    this.api.getHistory({ from, to, maxPoints }, this.aborter.signal).then(
      (response) => {
        if (!this.running || generation !== this.generation.history) return;
        const data = catchUp(historyFromResponse(range, response, maxPoints), rangeIsLive(range, this.now()) ? this.samplesDuringFetch : [], this.now());
        this.samplesDuringFetch = [];
        this.update({ history: { range, status: 'ready', data, error: null } });
      },
      (error: unknown) => {
        if (!this.running || generation !== this.generation.history || isAbort(error)) return;
        this.samplesDuringFetch = [];
        this.update({ history: { range, status: 'error', data: null, error: errorMessage(error) }, ...(isNotFound(error) ? { notFound: true } : {}) });
      },
    );
  }

  private loadState(): void {
    const generation = ++this.generation.state;
    this.stateEventDuringFetch = false;
    if (this.current.state.status === 'error') this.update({ state: { ...this.current.state, status: 'loading' } });
    this.api.getState(this.aborter.signal).then(
      (view) => {
        if (!this.running || generation !== this.generation.state) return;
        // An event that came meanwhile is at least as new as this answer.
        if (this.stateEventDuringFetch && this.current.state.view) return;
        this.update({ state: { status: 'ready', view, error: null }, notFound: false });
      },
      (error: unknown) => {
        if (!this.running || generation !== this.generation.state || isAbort(error)) return;
        const state = { ...this.current.state, status: this.current.state.view ? ('ready' as const) : ('error' as const), error: errorMessage(error) };
        this.update({ state, ...(isNotFound(error) ? { notFound: true } : {}) });
      },
    );
  }

  private loadCommands(): void {
    const generation = ++this.generation.commands;
    this.api.listCommands({ limit: this.pageSize }, this.aborter.signal).then(
      (page) => {
        if (!this.running || generation !== this.generation.commands) return;
        this.update({ commands: { ...this.current.commands, status: 'ready', timeline: applyPage(this.current.commands.timeline, page, false), error: null } });
      },
      (error: unknown) => {
        if (!this.running || generation !== this.generation.commands || isAbort(error)) return;
        const commands = { ...this.current.commands, status: this.current.commands.timeline.loaded ? ('ready' as const) : ('error' as const), error: errorMessage(error) };
        this.update({ commands, ...(isNotFound(error) ? { notFound: true } : {}) });
      },
    );
  }

  private setSend(key: string, status: SendStatus): void {
    const sends = new Map(this.current.sends);
    sends.set(key, status);
    this.update({ sends });
  }

  private update(change: Partial<DeviceDetailState>): void {
    this.current = { ...this.current, ...change };
    if (!this.running) return;
    this.cancelFrame ??= this.schedule(() => {
      this.cancelFrame = null;
      this.flush();
    });
  }
}
