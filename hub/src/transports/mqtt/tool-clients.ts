/**
 * Tools on the broker (Node-RED, Home Assistant): they log in with username
 * `$api` (no device id can start with `$`, so no device is shadowed) and an
 * API token of any role as password, and may only read `alerts/...`. They
 * publish nothing, are not devices (not in the registry, not in the device
 * budget: a cap of their own), and get no queue while away (clean sessions
 * only, so a tool that vanishes cannot make the broker hold alerts for it).
 */
import type { Socket } from 'node:net';
import type { Client } from 'aedes';
import { MQTT_TOOL_USERNAME } from '@iot-hub/protocol';
import type { Logger } from 'pino';

export const ALERTS_TOPIC_PREFIX = 'alerts/';
/** Tool connections at most: they are few (an automation server or two), and outside the device budget. */
export const MAX_TOOL_CONNECTIONS = 64;

/** [MQTT-3.2.2.3] CONNACK return codes a refused tool gets. */
export const TOOL_CONNACK = { identifierRejected: 2, serverUnavailable: 3, badCredentials: 4, notAuthorized: 5 } as const;

export interface ToolClientsOptions {
  /** The token's actor (a username or `token:<name>`) if it is a valid API or admin token, else null. */
  verifyToken: (token: string) => Promise<string | null>;
  /** A provisioned device's id: a tool may not take it as its client id (aedes would close the device's session). */
  isDeviceId: (id: string) => boolean;
  log: Logger;
}

export type ToolRefusal = (returnCode: number, why: string) => void;

interface Tool {
  token: string;
  actor: string;
}

export class ToolClients {
  private readonly tools = new Map<Client, Tool>();

  constructor(private readonly options: ToolClientsOptions) {}

  static isToolLogin(username: string | undefined): boolean {
    return username === MQTT_TOOL_USERNAME;
  }

  get count(): number {
    return this.tools.size;
  }

  has(client: Client): boolean {
    return this.tools.has(client);
  }

  /** The CONNECT of a tool, after the username said it is one. */
  authenticate(client: Client, token: string, refuse: ToolRefusal, accept: () => void): void {
    if (!client.clean) return refuse(TOOL_CONNACK.notAuthorized, 'a tool must connect with a clean session: the broker keeps no queue for tools while they are away');
    if ((client as Client & { _will?: unknown })._will) return refuse(TOOL_CONNACK.notAuthorized, 'a tool may publish nothing, a will neither');
    if (this.options.isDeviceId(client.id)) return refuse(TOOL_CONNACK.identifierRejected, `client id ${JSON.stringify(client.id)} is a device's: a tool needs a client id of its own`);
    if (this.tools.size >= MAX_TOOL_CONNECTIONS) return refuse(TOOL_CONNACK.serverUnavailable, `the hub holds ${MAX_TOOL_CONNECTIONS} tool connections already`);
    this.options.verifyToken(token).then(
      (actor) => {
        if (client.closed) return;
        if (actor === null) return refuse(TOOL_CONNACK.badCredentials, 'unknown or revoked API token');
        if (this.tools.size >= MAX_TOOL_CONNECTIONS) return refuse(TOOL_CONNACK.serverUnavailable, `the hub holds ${MAX_TOOL_CONNECTIONS} tool connections already`);
        this.tools.set(client, { token, actor });
        (client.conn as Socket).once('close', () => this.tools.delete(client));
        this.options.log.info({ clientId: client.id, actor }, 'MQTT tool connected: it may subscribe to alerts/#');
        accept();
      },
      (err: unknown) => {
        this.options.log.warn({ err, clientId: client.id }, 'checking a tool token failed');
        refuse(TOOL_CONNACK.serverUnavailable, 'the token could not be checked: retry later');
      },
    );
  }

  /** `alerts/#` or any filter within `alerts/`: nothing of devices, even through wildcards. */
  maySubscribe(filter: string): boolean {
    return filter.startsWith(ALERTS_TOPIC_PREFIX);
  }

  mayReceive(topic: string): boolean {
    return topic.startsWith(ALERTS_TOPIC_PREFIX);
  }

  /** After a token or session was revoked: tools whose token no longer holds are disconnected. */
  async recheck(): Promise<void> {
    for (const [client, tool] of this.tools) {
      const actor = await this.options.verifyToken(tool.token).catch(() => tool.actor);
      if (actor === null) {
        this.options.log.info({ clientId: client.id, actor: tool.actor }, 'MQTT tool disconnected: its token was revoked');
        this.tools.delete(client);
        client.close();
      }
    }
  }
}
