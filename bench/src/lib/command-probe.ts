/**
 * One dashboard socket subscribed to the command events of every device:
 * the end of a command round trip is the moment the operator's dashboard
 * learns the outcome. Each event is handed on with its receive time.
 */
import type { CommandView, DashboardEvent } from '@iot-hub/protocol';
import { DashboardSocketProbe } from './dashboard-socket.js';

export class CommandProbe extends DashboardSocketProbe {
  /** Command events received (every state change of every command). */
  events = 0;
  protected readonly kinds = ['command'] as const;
  readonly #onCommand: (command: CommandView, at: number) => void;

  constructor(onCommand: (command: CommandView, at: number) => void) {
    super();
    this.#onCommand = onCommand;
  }

  protected onEvent(event: DashboardEvent, at: number): void {
    if (event.event !== 'command') return;
    this.events++;
    this.#onCommand(event.command, at);
  }
}
