/*
 * The device's protocol logic on one connection and between connections:
 * what it sends after connecting, how it answers each hub message, and the
 * periodic work (samples, outbox, state reports, heartbeat). main.c owns
 * the connection loop; link.c the MQTT client.
 */
#ifndef DEVICE_H
#define DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd_dedup.h"
#include "config.h"
#include "link.h"
#include "outbox.h"

#define MAX_INFLIGHT 4

typedef struct {
  const config *cfg;
  link *link;
  outbox outbox;
  cmd_dedup dedup;
  int64_t boot;
  int64_t next_seq;
  /* The desired version last applied, -1 before any. */
  int64_t applied_version;
  /* Hub clock = plat_mono_ms() + hub_offset, once a pong told it. */
  bool have_hub_clock;
  int64_t hub_offset;
  /* Telemetry messages awaiting their PUBACK: the Paho token per slot, 0 = free. */
  int slot_token[MAX_INFLIGHT];
  int64_t last_sent;
  int64_t next_sample;
} device;

int device_init(device *d, const config *cfg, link *l);
/* Right after CONNACK and SUBACK: status, hello, full state [FP-1 steps 1-4]. */
void device_on_connect(device *d);
void device_on_disconnect(device *d);
void device_on_message(device *d, const char *channel, const char *payload, size_t len);
/* Periodic work; call often (every few tens of ms). */
void device_tick(device *d);
/* Clean stop: offline status, DISCONNECT [FP-3.1 Disconnecting]. */
void device_shutdown(device *d);

#endif
