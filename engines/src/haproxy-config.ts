/**
 * The one HAProxy configuration template: deploy/haproxy.cfg (3 hubs in
 * docker compose) and the test balancer of startHaproxy() are both rendered
 * from it, and a test keeps the committed file equal to its rendering, so
 * the tests run the routing that production runs.
 *
 * - MQTT: routed by client id (= device id), so a device reconnecting lands
 *   on the same node while that node is up. The converter must go through a
 *   variable: written straight into `balance hash` it passes `haproxy -c`
 *   but is not sticky (cluster design, "Paths").
 * - HTTP and WebSockets: round robin; `timeout tunnel` keeps WebSockets open.
 * - `send-proxy-v2`: every hub sees the client address (--proxy-protocol-from);
 *   health checks send a LOCAL header (`check-send-proxy`), since a hub that
 *   trusts the balancer requires one on every connection.
 * - Health: GET /healthz on each hub's HTTP port, for both backends.
 */

export interface HaproxyServer {
  /** Server name in the stats ("hub-1"). */
  name: string;
  /** host:port HAProxy connects to. */
  address: string;
  /** Port of the hub's HTTP listener, for GET /healthz (the MQTT servers' check). */
  healthPort: number;
}

export interface HaproxyConfigOptions {
  /** HAProxy bind lines: ":1883", "127.0.0.1:40001". */
  mqttBind: string;
  httpBind: string;
  mqttServers: readonly HaproxyServer[];
  httpServers: readonly HaproxyServer[];
  /** PROXY protocol v2 to the hubs (and LOCAL on health checks). */
  sendProxy: boolean;
  maxconn: number;
  /** Health check interval, HAProxy time syntax ("2s", "200ms"). */
  checkInterval: string;
  /** Admin socket for `show stat` (tests read server states from it). */
  statsSocket?: string;
  /** In docker compose: hub names are resolved at run time by Docker's DNS, and a hub not up yet does not stop HAProxy. */
  dockerDns?: boolean;
  /** Address HAProxy connects to the hubs from (`source`); absent = the system's choice. */
  source?: string;
  /** A comment block for the top of the file. */
  header?: string;
}

export function renderHaproxyConfig(o: HaproxyConfigOptions): string {
  const proxy = o.sendProxy ? ' send-proxy-v2 check-send-proxy' : '';
  const dns = o.dockerDns ? ' resolvers docker init-addr last,libc,none' : '';
  const server = (s: HaproxyServer, checkPort: boolean): string => `    server ${s.name} ${s.address} check${checkPort ? ` port ${s.healthPort}` : ''}${proxy}${dns}`;
  const lines = [
    ...(o.header ? o.header.split('\n').map((l) => (l === '' ? '#' : `# ${l}`)) : []),
    'global',
    `    maxconn ${o.maxconn}`,
    '    log stdout format raw local0 notice',
    ...(o.statsSocket ? [`    stats socket ${o.statsSocket} mode 600 level admin`] : []),
    '',
    'defaults',
    '    mode tcp',
    '    log global',
    '    timeout connect 5s',
    // MQTT connections live as long as the device: keepalive pings cross well within this.
    '    timeout client 10m',
    '    timeout server 10m',
    `    default-server inter ${o.checkInterval} fall 2 rise 2`,
    ...(o.source ? [`    source ${o.source}`] : []),
    '',
    ...(o.dockerDns ? ['resolvers docker', '    nameserver dns 127.0.0.11:53', '    hold valid 10s', ''] : []),
    'frontend mqtt',
    `    bind ${o.mqttBind}`,
    '    tcp-request inspect-delay 5s',
    '    tcp-request content reject unless { req.payload(0,0),mqtt_is_valid }',
    '    tcp-request content set-var(sess.cid) req.payload(0,0),mqtt_field_value(connect,client_identifier)',
    '    default_backend hubs_mqtt',
    '',
    'backend hubs_mqtt',
    '    balance hash var(sess.cid)',
    '    hash-type consistent',
    '    option httpchk GET /healthz',
    '    http-check expect status 200',
    ...o.mqttServers.map((s) => server(s, true)),
    '',
    'frontend http',
    '    mode http',
    `    bind ${o.httpBind}`,
    '    timeout client 60s',
    '    timeout http-request 10s',
    '    default_backend hubs_http',
    '',
    'backend hubs_http',
    '    mode http',
    '    balance roundrobin',
    '    timeout server 60s',
    // An upgraded WebSocket (device or dashboard) is a tunnel: idle up to this long.
    '    timeout tunnel 1h',
    '    option httpchk GET /healthz',
    '    http-check expect status 200',
    ...o.httpServers.map((s) => server(s, false)),
    '',
  ];
  return lines.join('\n');
}

/** The options deploy/haproxy.cfg is rendered with: three hubs of docker-compose.yml's `cluster` profile. */
export function deployHaproxyOptions(): HaproxyConfigOptions {
  const hubs = ['hub-1', 'hub-2', 'hub-3'];
  return {
    header: [
      'HAProxy in front of the cluster profile of docker-compose.yml (three hubs).',
      'Rendered from engines/src/haproxy-config.ts, which the tests also run:',
      'change the template, then the file (engines/test/haproxy.test.ts checks they agree).',
      'The hubs trust this balancer with --proxy-protocol-from.',
    ].join('\n'),
    mqttBind: ':1883',
    httpBind: ':8080',
    mqttServers: hubs.map((name) => ({ name, address: `${name}:1883`, healthPort: 8080 })),
    httpServers: hubs.map((name) => ({ name, address: `${name}:8080`, healthPort: 8080 })),
    sendProxy: true,
    maxconn: 20000,
    checkInterval: '2s',
    dockerDns: true,
  };
}
