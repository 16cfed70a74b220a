/**
 * /metrics of notifications: what was sent, what each notifier's deliveries
 * came to (labelled by notifier id: at most MAX_NOTIFIERS), what waits in the
 * outbox, and MQTT publishes on `alerts/...`.
 */
import { Counter, Gauge, type Registry as PromRegistry } from 'prom-client';
import type { NotifyService } from './notify-service.js';

export type NotifyMetricSources = Pick<NotifyService, 'counters' | 'deliveryCounts' | 'outboxDepth' | 'groupedAlerts'>;

export function registerNotifyMetrics(registry: PromRegistry, src: NotifyMetricSources): void {
  new Counter({
    name: 'iot_hub_alert_notifications_total',
    help: 'Grouped alert notifications made (each is published on MQTT and queued for every notifier that takes its severity)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(src.counters.notifications);
    },
  });
  new Counter({
    name: 'iot_hub_alert_mqtt_publishes_total',
    help: 'Alert notifications published on the embedded broker under alerts/{severity}/{ruleId}',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(src.counters.mqttPublishes);
    },
  });
  new Counter({
    name: 'iot_hub_notifier_deliveries_total',
    help: 'Webhook delivery attempts since start by notifier id and outcome: delivered, retried (failed, tried again later), dead_lettered (failed for good)',
    labelNames: ['notifier', 'outcome'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [notifier, c] of src.deliveryCounts) {
        this.inc({ notifier, outcome: 'delivered' }, c.delivered);
        this.inc({ notifier, outcome: 'retried' }, c.retried);
        this.inc({ notifier, outcome: 'dead_lettered' }, c.deadLettered);
      }
    },
  });
  new Gauge({
    name: 'iot_hub_notify_outbox_deliveries',
    help: 'Webhook deliveries waiting in the durable outbox (first attempt or retry)',
    registers: [registry],
    async collect() {
      const depth = await src.outboxDepth().catch(() => null);
      if (depth !== null) this.set(depth);
    },
  });
  new Gauge({
    name: 'iot_hub_notify_grouped_alerts',
    help: 'Alert transitions waiting in notification groups (group wait 500 ms, interval 5 s)',
    registers: [registry],
    collect() {
      this.set(src.groupedAlerts);
    },
  });
}
