/**
 * The MQTT adapter: an embedded aedes broker on TCP. It authenticates devices
 * (username = device id, password = token), enforces topic ACLs and the size
 * limit, decodes each publish and hands it to the core; it knows nothing of
 * storage or dashboards [FP-3.1].
 *
 * Acknowledgement: aedes sends PUBACK right after `authorizePublish` calls
 * back, so the hook waits until the core has stored the message durably.
 * That wait is also the push-back: aedes reads no more from a socket while
 * its packets are in the hook. The ingest gate adds the global part: while
 * the hub as a whole is behind, no device socket is read at all.
 *
 * Besides devices, tools (Node-RED, Home Assistant) may log in with an API
 * token to read alert notifications on `alerts/...` (tool-clients.ts).
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Aedes, type AedesPublishPacket, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes';
import {
  CHANNEL_TYPES,
  DEVICE_CHANNELS,
  HUB_CHANNELS,
  ProtocolError,
  decodeDeviceMessage,
  deviceTopic,
  encodeHubMessage,
  isDeviceChannel,
  parseTopic,
  type HubMessage,
} from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { DeviceEntry } from '../../registry/registry.js';
import type { DeviceGateway } from '../../core/device-gateway.js';
import type { CloseReason, DeviceLink } from '../../core/device-link.js';
import { CONTROL_CHANNELS } from '../../core/device-inbox.js';
import type { DeviceSession } from '../../core/device-session.js';
import type { ConnectionGuard } from '../../limits/connection-guard.js';
import type { IngestGate } from '../../limits/ingest-gate.js';
import type { PendingConnection, UnauthenticatedClose, UnauthenticatedConnections } from '../../limits/unauthenticated-connections.js';
import { TLS_MIN_VERSION, type TlsFiles } from '../../net/tls.js';
import { listenBehindProxy } from '../../net/proxy-protocol/listen-behind-proxy.js';
import { inheritProxiedAddress, type ProxyProtocol } from '../../net/proxy-protocol/proxy-protocol.js';
import { SampledLog } from '../../sampled-log.js';
import { absorbSocketErrors } from '../../net/socket-errors.js';
import { batchWritesThisTurn } from '../../net/write-batching.js';
import { clip } from '../../log-safe.js';
import { refuseMqttConnection } from './connection-refusal.js';
import { expectAnswer, gateReads } from './gated-reads.js';
import { guardPacketSize } from './packet-size-guard.js';
import { ToolClients } from './tool-clients.js';

/** Room for the topic and headers on top of the payload limit. */
const PACKET_OVERHEAD_BYTES = 1024;
/** Dropped publishes are re-addressed here: no client may subscribe to it. */
const DROPPED_TOPIC = '$hub/dropped';
/** [MQTT-3.2.2.3] CONNACK return codes. */
const CONNACK_IDENTIFIER_REJECTED = 2;
const CONNACK_SERVER_UNAVAILABLE = 3;
const CONNACK_BAD_USERNAME_OR_PASSWORD = 4;
const CONNACK_NOT_AUTHORIZED = 5;

/** The only channels whose messages reach a device: what the hub sends it. */
const hubChannelSet: ReadonlySet<string> = new Set(HUB_CHANNELS);
/**
 * Channels a device may name in a subscription filter: the hub channels, and
 * `status`, which 1.0 devices were told they could subscribe to. Granted, so
 * they keep working, though nothing is delivered on it (see authorizeForward).
 */
const subscribableChannelSet: ReadonlySet<string> = new Set([...HUB_CHANNELS, 'status']);

export interface MqttTransportOptions {
  host: string;
  port: number;
  maxPayloadBytes: number;
  /** Unread outbound bytes a device connection may hold; past it the connection is dropped. */
  maxOutboundBytes: number;
  gateway: DeviceGateway;
  log: Logger;
  /** Admission of new connections (cap, per-IP rate); absent = every connection is taken. */
  guard?: ConnectionGuard;
  /** Sockets that have not authenticated yet: their deadline and caps, apart from the device budget. */
  unauthenticated: UnauthenticatedConnections;
  /** MQTT over TLS on its own port, beside plain MQTT [FP-3.1]. */
  tls?: TlsFiles & { port: number };
  /** Global push-back: device sockets are not read while the hub is behind; absent = read whenever aedes asks. */
  gate?: IngestGate;
  /** PROXY protocol from trusted balancers, read before aedes or TLS sees a byte; absent = off. */
  proxyProtocol?: ProxyProtocol;
  /** Tools (username `$api`, an API token as password) that read `alerts/#`; absent = only devices log in. */
  tools?: ToolClients;
}

class MqttDeviceLink implements DeviceLink {
  readonly transport = 'mqtt' as const;
  private overflowed = false;

  constructor(
    private readonly client: Client,
    private readonly deviceId: string,
    private readonly log: Logger,
    private readonly maxOutboundBytes: number,
    private readonly onOverflow: () => void,
  ) {}

  send(message: HubMessage): void {
    if (this.overflowed) return;
    // A device that does not read what it is sent would make the hub buffer without bound:
    // past the cap nothing more is queued and the connection is dropped, once.
    const conn = this.client.conn as Socket;
    if (conn.writableLength > this.maxOutboundBytes) {
      this.overflowed = true;
      this.onOverflow();
      this.log.warn({ deviceId: this.deviceId, bufferedBytes: conn.writableLength, limit: this.maxOutboundBytes }, 'device is not reading what the hub sends: connection dropped');
      conn.destroy();
      return;
    }
    const channel = message.type === 'command' ? 'commands' : message.type === 'desired' ? 'desired' : message.type === 'pong' ? 'pong' : 'errors';
    if (channel === 'commands') expectAnswer(conn);
    // Errors and pongs are advisory (QoS 0); commands and desired state must arrive (QoS 1).
    const qos = channel === 'commands' || channel === 'desired' ? 1 : 0;
    // Straight to this client, not through broker.publish: the broker's
    // emitter delivers a bounded number of messages at a time, so under
    // telemetry load a command would wait behind thousands of readings.
    // Only the device itself may subscribe to its topics, so no one else
    // misses it.
    this.client.publish(
      { cmd: 'publish', topic: deviceTopic(this.deviceId, channel), payload: Buffer.from(encodeHubMessage(message)), qos, retain: false, dup: false },
      (err?: Error | null) => {
        if (err) this.log.warn({ err, deviceId: this.deviceId }, 'publishing to a device failed');
      },
    );
  }

  close(reason: CloseReason): void {
    this.log.info({ deviceId: this.deviceId, reason }, 'closing MQTT connection');
    // Let the queued error message reach the socket before it closes.
    setImmediate(() => this.client.close());
  }
}

/** The socket's close is the one sure end of a connection, whatever closed it. Apart, so the listener keeps only these two alive. */
function endSessionOnClose(client: Client, session: DeviceSession): void {
  (client.conn as Socket).on('close', () => {
    const clean = (client as Client & { _disconnected?: boolean })._disconnected === true;
    // aedes publishes the will after an unclean close, sometimes after this listener has run:
    // a will that announces `offline` names the reason now, whichever comes first [FP-6].
    const will = (client as Client & { _will?: { topic: string; payload: Buffer | string } | null })._will;
    session.end({ clean, reason: !clean && willAnnouncesOffline(will, session.deviceId) ? 'last-will' : undefined });
  });
}

function willAnnouncesOffline(will: { topic: string; payload: Buffer | string } | null | undefined, deviceId: string): boolean {
  if (!will || will.topic !== deviceTopic(deviceId, 'status')) return false;
  try {
    const message = decodeDeviceMessage(Buffer.from(will.payload), { impliedType: CHANNEL_TYPES.status });
    return message.type === 'status' && message.status === 'offline';
  } catch {
    return false;
  }
}

export class MqttTransport {
  private broker: Aedes | null = null;
  private server: Server | null = null;
  private tlsServer: Server | null = null;
  private readonly sessions = new WeakMap<Client, DeviceSession>();
  /** Connections subscribed to their `pong` channel: they get one in answer to each `ping` [FP-5]. */
  private readonly hearsPong = new WeakSet<DeviceSession>();
  /** Sockets that have not authenticated yet, with their place among the unauthenticated. */
  private readonly pendingOf = new WeakMap<Socket, PendingConnection>();
  private readonly sockets = new Set<Socket>();
  /** Sockets being answered CONNACK 3 (see refuseMqttConnection). */
  private readonly refusing = new Set<Socket>();
  /** Refusals an outsider can repeat at will are logged at most once per interval per kind. */
  private readonly sampledLog: SampledLog;
  /** Counters for /healthz and metrics. */
  readonly counters = { oversizedPackets: 0, refusedConnects: 0, droppedPublishes: 0, refusedSubscriptions: 0, outboundOverflows: 0 };

  constructor(private readonly options: MqttTransportOptions) {
    this.sampledLog = new SampledLog(options.log);
  }

  get connectionCount(): number {
    return this.sockets.size;
  }

  /** Tools logged in with an API token (not devices). */
  get toolCount(): number {
    return this.options.tools?.count ?? 0;
  }

  /**
   * An alert notification to whoever subscribed to `alerts/...` (tools only:
   * authorizeForward keeps it from devices). QoS 1 so a tool acknowledges it;
   * not retained: an old alert must not greet a tool that connects later.
   */
  publishAlert(topic: string, payload: Buffer): void {
    const broker = this.broker;
    if (!broker) return;
    broker.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, (err?: Error | null) => {
      if (err) this.options.log.warn({ err, topic }, 'publishing an alert on the broker failed');
    });
  }

  /** After a revocation: tools whose token no longer holds are disconnected. */
  recheckTools(): Promise<void> {
    return this.options.tools?.recheck() ?? Promise.resolve();
  }

  async start(): Promise<number> {
    const { log } = this.options;
    const broker = await Aedes.createBroker({
      id: 'iot-hub',
      maxClientsIdLength: 64,
      preConnect: (client, packet, done) => {
        if (!acceptProtocolLevel(packet)) {
          this.counters.refusedConnects += 1;
          this.sampledLog.warn('protocol-level', { remote: (client.conn as Socket).remoteAddress, level: packet.protocolVersion }, 'MQTT connection refused: CONNACK 1, only MQTT 3.1.1 (level 4) is spoken');
          // Marked 0: aedes' own check [MQTT-3.1.2-2] answers CONNACK 1 (unacceptable protocol version) and closes.
          (packet as { protocolVersion: number }).protocolVersion = 0;
        }
        done(null, true);
      },
      authenticate: (client, username, password, done) => this.authenticate(client, username, password, done),
      authorizePublish: (client, packet, done) => this.authorizePublish(client, packet, done),
      authorizeSubscribe: (client, sub, done) => this.authorizeSubscribe(client, sub, done),
      authorizeForward: (client, packet) => this.authorizeForward(client, packet),
    });
    // A subscription is live once aedes emits `subscribe` (refused ones carry qos 128); a session restored
    // with clean=false has its subscriptions back at `clientReady`.
    broker.on('subscribe', (subs, client) => this.subscribed(client, subs.filter((s) => (s.qos as number) !== 128).map((s) => s.topic)));
    broker.on('clientReady', (client) => this.subscribed(client, Object.keys((client as Client & { subscriptions?: Record<string, unknown> }).subscriptions ?? {})));
    broker.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'MQTT client error'));
    broker.on('connectionError', (_client, err) => log.debug({ err: err.message }, 'MQTT connection error'));
    this.broker = broker;

    const { tls, proxyProtocol } = this.options;
    const onConnection = proxyProtocol ? (socket: Socket) => proxyProtocol.accept(socket, 'mqtt', this.acceptSocket) : this.acceptSocket;
    this.server = await this.listen(createServer(onConnection), this.options.port);
    if (tls) {
      // A handshake gets the same time as a CONNECT: Node's default (120 s) would let idle sockets pile up.
      const tlsOptions = { cert: tls.cert, key: tls.key, minVersion: TLS_MIN_VERSION, handshakeTimeout: this.options.unauthenticated.timeoutMs };
      const tlsServer = createTlsServer(tlsOptions, (socket) => this.accept(socket));
      // Refused before the handshake: an over-limit client is not worth its cost.
      tlsServer.on('connection', (socket: Socket) => {
        absorbSocketErrors(socket);
        if (this.options.guard?.admit(socket.remoteAddress, 'mqtt')) socket.destroy();
      });
      tlsServer.on('tlsClientError', (err, socket) => log.debug({ err: err.message, remote: socket.remoteAddress }, 'MQTT TLS handshake failed'));
      // Behind a balancer the PROXY header comes before the TLS handshake: read by a plain listener in front.
      this.tlsServer = proxyProtocol ? await listenBehindProxy(tlsServer, proxyProtocol, 'mqtts', this.options.host, tls.port) : await this.listen(tlsServer, tls.port);
    }
    return (this.server.address() as AddressInfo).port;
  }

  /** The bound MQTT-over-TLS port, or null without TLS (known after start()). */
  get tlsPort(): number | null {
    return this.tlsServer ? (this.tlsServer.address() as AddressInfo).port : null;
  }

  private async listen<S extends Server>(server: S, port: number): Promise<S> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return server;
  }

  private readonly acceptSocket = (socket: Socket): void => this.accept(socket);

  /** Every device socket, plain or TLS, starts here. */
  private accept(socket: Socket | TLSSocket): void {
    absorbSocketErrors(socket);
    if (this.options.proxyProtocol && 'encrypted' in socket) inheritProxiedAddress(socket);
    const { log, guard } = this.options;
    const broker = this.broker;
    if (!broker) return void socket.destroy();
    // TLS sockets were admitted before their handshake.
    const refusal = 'encrypted' in socket ? null : (guard?.admit(socket.remoteAddress, 'mqtt') ?? null);
    if (refusal) {
      log.warn({ remote: socket.remoteAddress, why: refusal }, 'MQTT connection refused: CONNACK 3');
      // Not counted as a connection, but closed at stop() like one.
      this.refusing.add(socket);
      socket.once('close', () => this.refusing.delete(socket));
      return refuseMqttConnection(socket);
    }
    const pending = this.options.unauthenticated.enter(socket.remoteAddress, 'mqtt', (why) => this.closeUnauthenticated(socket, why));
    if (!pending) {
      this.sampledLog.warn('unauthenticated-per-ip', { remote: socket.remoteAddress }, 'MQTT connection refused: CONNACK 3, this address holds too many connections that have not sent CONNECT (--max-unauthenticated-per-ip)');
      this.refusing.add(socket);
      socket.once('close', () => this.refusing.delete(socket));
      return refuseMqttConnection(socket);
    }
    this.pendingOf.set(socket, pending);
    this.sockets.add(socket);
    socket.on('close', this.onSocketClose);
    // Nagle adds up to 40 ms stalls to small MQTT packets (field notes).
    socket.setNoDelay(true);
    const maxPacket = this.options.maxPayloadBytes + PACKET_OVERHEAD_BYTES;
    guardPacketSize(socket, maxPacket, this.onPacketTooLarge);
    if (this.options.gate) gateReads(socket, this.options.gate);
    broker.handle(socket);
  }

  /** One 'close' listener for every socket, called with the socket as `this`. */
  private readonly onSocketClose: (this: Socket) => void = (() => {
    const { sockets, pendingOf } = this;
    const leave = (pending: PendingConnection): void => this.options.unauthenticated.leave(pending);
    return function (this: Socket): void {
      sockets.delete(this);
      const pending = pendingOf.get(this);
      if (pending) leave(pending);
    };
  })();

  /** No CONNECT accepted within --auth-timeout-ms, or the oldest of too many such sockets. */
  private closeUnauthenticated(socket: Socket, why: UnauthenticatedClose): void {
    this.sampledLog.warn(
      `unauthenticated-${why}`,
      { remote: socket.remoteAddress, why },
      why === 'timeout' ? 'MQTT connection closed: no CONNECT accepted within --auth-timeout-ms' : 'MQTT connection closed: the oldest of --max-unauthenticated connections without CONNECT',
    );
    socket.destroy();
  }

  /** One function for every socket's size guard (a closure per socket costs memory at 10,000 connections). */
  private readonly onPacketTooLarge = (socket: Socket, declared: number): void => {
    const limit = this.options.maxPayloadBytes + PACKET_OVERHEAD_BYTES;
    this.counters.oversizedPackets += 1;
    const session = this.sessionOfSocket(socket);
    this.options.log.warn({ deviceId: session?.deviceId, remote: socket.remoteAddress, declared, limit }, 'MQTT packet over the size limit: connection closed');
    session?.fail(new ProtocolError('payload_too_large', `declared ${declared} bytes, limit ${limit}`));
  };

  private sessionOfSocket(socket: Socket): DeviceSession | undefined {
    const client = (socket as Socket & { client?: Client }).client;
    return client ? this.sessions.get(client) : undefined;
  }

  /** Refuses new connections; existing ones carry on until stop(). */
  stopAccepting(): void {
    this.server?.close();
    this.tlsServer?.close();
  }

  async stop(): Promise<void> {
    const servers = [this.server, this.tlsServer].filter((s): s is Server => s !== null);
    const broker = this.broker;
    this.server = null;
    this.tlsServer = null;
    this.broker = null;
    const closed = servers.map((server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())));
    for (const socket of [...this.sockets, ...this.refusing]) socket.destroy();
    await Promise.all(closed);
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
  }

  private authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    const refuse = (returnCode: number, why: string) => {
      this.counters.refusedConnects += 1;
      this.options.log.warn({ clientId: client.id, username, remote: client.conn && (client.conn as Socket).remoteAddress, why }, 'MQTT connection refused');
      const error = new Error(why) as AuthenticateError;
      error.returnCode = returnCode;
      done(error, false);
    };
    if (!username || !password) return refuse(CONNACK_BAD_USERNAME_OR_PASSWORD, 'no username or password');
    const token = password.toString('utf8');
    const tools = this.options.tools;
    if (tools && ToolClients.isToolLogin(username)) return tools.authenticate(client, token, refuse, () => this.admitTool(client, done));
    const entry = this.options.gateway.authenticate(username, token);
    if (entry) return this.admitDevice(client, username, entry, refuse, done);
    this.options.gateway.authenticateAfterRefresh(username, token, (later) =>
      later && !client.closed ? this.admitDevice(client, username, later, refuse, done) : refuse(CONNACK_BAD_USERNAME_OR_PASSWORD, 'unknown device or wrong token'),
    );
  }

  /** The rest of CONNECT once the device's token holds: its client id, will and the device budget, then the session. */
  private admitDevice(
    client: Client,
    username: string,
    entry: DeviceEntry,
    refuse: (returnCode: number, why: string) => void,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    // The client id is the device id, so no device can take over another's session. aedes
    // registers a client id (and closes the connection that held it) only after this hook
    // accepted it, so a refused impostor never disturbs the real device.
    if (client.id !== username) return refuse(CONNACK_IDENTIFIER_REJECTED, `client id must equal the device id ${JSON.stringify(username)}`);
    // A will is a publish made later on the device's behalf: refuse the connection now rather
    // than accept a will that would be dropped when it fires, or publish to another device.
    const will = (client as Client & { _will?: { topic: string } | null })._will;
    if (will && !isOwnPublishTopic(will.topic, username)) {
      return refuse(CONNACK_NOT_AUTHORIZED, `will topic ${JSON.stringify(will.topic)} is not one of ${publishTopics(username)}`);
    }

    // The device budget counts authenticated devices only; one replacing its own connection takes no new place.
    if (this.options.guard?.admitAuthenticated('mqtt', this.options.gateway.session(username) !== undefined)) {
      return refuse(CONNACK_SERVER_UNAVAILABLE, 'the hub is at --max-connections devices');
    }
    const pending = this.pendingOf.get(client.conn as Socket);
    if (pending) this.options.unauthenticated.leave(pending);
    this.options.gateway.admit(
      entry,
      'mqtt',
      () => !client.closed,
      (epoch) => {
        const session = this.options.gateway.open(entry, new MqttDeviceLink(client, username, this.options.log, this.options.maxOutboundBytes, this.countOutboundOverflow), epoch);
        this.sessions.set(client, session);
        endSessionOnClose(client, session);
        done(null, true);
      },
      (err) => {
        this.options.log.warn({ err, deviceId: username }, 'claiming the device for this node failed');
        refuse(CONNACK_SERVER_UNAVAILABLE, 'the cluster store is unreachable: retry later');
      },
    );
  }

  /** A tool's CONNECT holds: it leaves the unauthenticated, and takes no place in the device budget. */
  private admitTool(client: Client, done: (error: AuthenticateError | null, success: boolean | null) => void): void {
    const pending = this.pendingOf.get(client.conn as Socket);
    if (pending) this.options.unauthenticated.leave(pending);
    this.pendingOf.delete(client.conn as Socket);
    done(null, true);
  }

  /**
   * Made once, not per connection: a closure made in authenticate() would
   * keep that call's whole scope (aedes' `done` and what it holds) alive for
   * as long as the connection, about 0.5 KB each.
   */
  private readonly countOutboundOverflow = (): void => {
    this.counters.outboundOverflows += 1;
  };

  private authorizePublish(client: Client | null, packet: PublishPacket, done: (error?: Error | null) => void): void {
    const session = client ? this.sessions.get(client) : undefined;
    if (client && this.options.tools?.has(client)) {
      // MQTT 3.1.1 has no negative PUBACK: a tool that publishes is disconnected, and told why in the log.
      this.counters.droppedPublishes += 1;
      this.sampledLog.warn('tool-publish', { clientId: client.id, topic: clip(packet.topic) }, 'MQTT tool disconnected: tools may only subscribe to alerts/#, not publish');
      return done(new Error('tools may not publish'));
    }
    if (!client || !session) return done(new Error('publish from an unauthenticated client'));
    // A will is published once the connection has closed: there is nothing left to push back on.
    if ((client as Client & { closed?: boolean }).closed) return this.acceptPublish(client, session, packet, done);
    // The rate limit: QoS 1 waits for its turn, and while this hook has not called back aedes
    // reads nothing more from the socket; QoS 0 over the rate is dropped.
    const admitted = session.admit(packet.qos > 0, () => this.acceptPublish(client, session, packet, done), { topic: packet.topic });
    if (!admitted) {
      // Counted by the rate limiter (iot_hub_device_rate_limited_total), acknowledged and dropped.
      packet.topic = DROPPED_TOPIC;
      packet.retain = false;
      done(null);
    }
  }

  private acceptPublish(client: Client, session: DeviceSession, packet: PublishPacket, done: (error?: Error | null) => void): void {
    const drop = (error: ProtocolError) => {
      this.counters.droppedPublishes += 1;
      packet.topic = DROPPED_TOPIC;
      packet.retain = false;
      session.fail(error, { topic: originalTopic });
      // MQTT 3.1.1 has no negative PUBACK: the publish is acknowledged and dropped.
      done(null);
    };

    const originalTopic = packet.topic;
    const parsed = parseTopic(packet.topic);
    if (!parsed || parsed.deviceId !== session.deviceId || !isDeviceChannel(parsed.channel)) {
      return drop(new ProtocolError('forbidden_topic', `cannot publish to ${JSON.stringify(clip(packet.topic))}: publish to ${publishTopics(session.deviceId)}`));
    }
    const payload = packet.payload as Buffer;
    if (payload.length > this.options.maxPayloadBytes) {
      return drop(new ProtocolError('payload_too_large', `${payload.length} bytes, limit ${this.options.maxPayloadBytes}`));
    }
    let message;
    try {
      // The bytes, not a string: invalid UTF-8 is bad_json, never silently replaced [FP-2.1].
      message = decodeDeviceMessage(payload, { impliedType: CHANNEL_TYPES[parsed.channel] });
    } catch (err) {
      return drop(err as ProtocolError);
    }
    // Only presence is retained; a retained reading would replay stale data [FP-3.1].
    if (parsed.channel !== 'status') packet.retain = false;
    const gate = this.options.gate;
    gate?.begin();
    session.handle(message).then(
      () => {
        gate?.end();
        // The hub's clock for devices without one [FP-5]; only to a device that subscribed to hear it.
        if (message.type === 'ping' && this.hearsPong.has(session)) sendPong(session);
        // Durable now: the PUBACK that done() writes joins this turn's batch.
        batchWritesThisTurn(client.conn as Socket);
        done(null);
      },
      (err: unknown) => {
        gate?.end();
        if (err instanceof ProtocolError && err.status < 500) return drop(err);
        // Not stored: no PUBACK. Closing makes the device resend after reconnecting.
        session.fail(err, { topic: originalTopic });
        done(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }

  private authorizeSubscribe(client: Client, sub: Subscription, done: (error: Error | null, subscription?: Subscription | null) => void): void {
    const tools = this.options.tools;
    if (tools?.has(client)) {
      if (tools.maySubscribe(sub.topic)) return done(null, sub);
      this.counters.refusedSubscriptions += 1;
      this.sampledLog.warn('tool-subscribe', { clientId: client.id, topic: clip(sub.topic) }, 'MQTT tool subscription refused (SUBACK 0x80): tools may subscribe to alerts/# only');
      return done(null, null);
    }
    const session = this.sessions.get(client);
    if (session && isOwnSubscription(sub.topic, session.deviceId)) return done(null, sub);
    this.counters.refusedSubscriptions += 1;
    session?.fail(new ProtocolError('forbidden_topic', `cannot subscribe to ${JSON.stringify(clip(sub.topic))}: subscribe to ${subscriptionFilters(session.deviceId)}`), { topic: sub.topic });
    // aedes keeps every filter of a SUBSCRIBE in a persistent session, refused ones too, and
    // restores them through this hook at the next CONNECT, before CONNACK: refused again here,
    // and forgotten so that the device hears of it once.
    if (!client.clean && !(client as Client & { connackSent?: boolean }).connackSent) this.forgetSubscription(client, sub.topic);
    // A null subscription is answered with SUBACK 0x80 (failure) [MQTT-3.9.3].
    done(null, null);
  }

  private forgetSubscription(client: Client, topic: string): void {
    const persistence = (this.broker as unknown as { persistence: { removeSubscriptions(c: Client, topics: string[]): Promise<unknown> } } | null)?.persistence;
    persistence?.removeSubscriptions(client, [topic]).catch((err: unknown) => this.options.log.warn({ err, clientId: client.id, topic }, 'could not forget a refused subscription'));
  }

  /** Subscriptions granted (or restored with the session): what the device now receives. */
  private subscribed(client: Client, topics: readonly string[]): void {
    this.markReady(client, topics);
    this.offerPong(client, topics);
  }

  /** Once a subscription covers `pong`, the device gets the hub's clock without asking, and one per ping [FP-5]. */
  private offerPong(client: Client, topics: readonly string[]): void {
    const session = this.sessions.get(client);
    if (!session || session.isEnded) return;
    if (!coversChannel(topics, session.deviceId, 'pong')) return;
    this.hearsPong.add(session);
    sendPong(session);
  }

  private markReady(client: Client, topics: readonly string[]): void {
    const session = this.sessions.get(client);
    if (!session) return;
    // One SUBSCRIBE covering both gets desired first, whatever the order of its filters [FP-3.1].
    session.markReady(CONTROL_CHANNELS.filter((channel) => coversChannel(topics, session.deviceId, channel)));
  }

  /**
   * A device gets only what the hub sends it, never its own device → hub
   * traffic echoed back [FP-3.1]: not its `status` either, neither the echo of
   * its publish nor the retained one on (re)subscribing, which would arrive
   * after the device said `online` and tell it it is offline [FP-6]. Every
   * delivery to a client, the hub's own included, passes here.
   */
  private authorizeForward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    const tools = this.options.tools;
    if (tools?.has(client)) return tools.mayReceive(packet.topic) ? packet : null;
    const parsed = parseTopic(packet.topic);
    if (!parsed || parsed.deviceId !== client.id || !hubChannelSet.has(parsed.channel)) return null;
    return packet;
  }
}

/** The hub's clock on `devices/{id}/pong` [FP-5], through the session's link so the inspector's feed sees it. */
function sendPong(session: DeviceSession): void {
  session.link.send({ v: 1, type: 'pong', ts: Date.now() });
}

/** [MQTT-3.1.2-2] The protocol level of MQTT 3.1.1. */
const MQTT_3_1_1_LEVEL = 4;

/** Devices speak MQTT 3.1.1 only [FP-3.1]; aedes would also take MQTT 3.1 (MQIsdp, level 3). */
function acceptProtocolLevel(packet: { protocolVersion?: number }): boolean {
  return packet.protocolVersion === MQTT_3_1_1_LEVEL;
}

/** Whether one of these granted filters delivers the device's hub channel: `#`, `+` or the channel itself [FP-3.1]. */
function coversChannel(topics: readonly string[], deviceId: string, channel: string): boolean {
  const prefix = `devices/${deviceId}/`;
  return topics.some((topic) => topic === `${prefix}#` || topic === `${prefix}+` || topic === `${prefix}${channel}`);
}

/** The topics a device may publish to, for the errors that refuse another one [FP-3.1, FP-8]. */
function publishTopics(deviceId: string): string {
  return `devices/${deviceId}/{${DEVICE_CHANNELS.join('|')}}`;
}

/** The filters a device may subscribe to, for the error that refuses another one [FP-3.1, FP-8]. */
function subscriptionFilters(deviceId: string): string {
  return `devices/${deviceId}/#, devices/${deviceId}/+ or devices/${deviceId}/{${[...subscribableChannelSet].join('|')}}`;
}

/** `devices/{id}/{hello|telemetry|state|results|status|ping}` of the device itself [FP-3.1]. */
function isOwnPublishTopic(topic: string, deviceId: string): boolean {
  const parsed = parseTopic(topic);
  return parsed !== null && parsed.deviceId === deviceId && isDeviceChannel(parsed.channel);
}

/** `devices/{id}/#`, `devices/{id}/+` or one of the hub → device channels of the device itself. */
function isOwnSubscription(topic: string, deviceId: string): boolean {
  const prefix = `devices/${deviceId}/`;
  if (!topic.startsWith(prefix)) return false;
  const rest = topic.slice(prefix.length);
  return rest === '#' || rest === '+' || subscribableChannelSet.has(rest);
}
