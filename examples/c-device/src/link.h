/*
 * The MQTT link [FP-3.1]: one connection to the hub with Eclipse Paho's
 * synchronous client, driven from the main loop (no threads, no callbacks),
 * as firmware drives its network task. A port replaces this file (ESP-IDF:
 * esp-mqtt) and keeps its interface.
 */
#ifndef LINK_H
#define LINK_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define LINK_MAX_TOKENS 32

typedef struct link link;

link *link_create(const config *cfg);
void link_destroy(link *l);
/* CONNECT with the will, then SUBSCRIBE devices/{id}/#. Returns 0, the CONNACK return code (1..5), or -1 (network). */
int link_connect(link *l);
bool link_connected(const link *l);
/* Publishes on devices/{id}/{channel}. QoS 1: *token (may be NULL) identifies it until its PUBACK. Returns 0 or -1. */
int link_publish(link *l, const char *channel, const char *payload, size_t len, int qos, bool retained, int *token);
/*
 * Waits up to timeout_ms for one message from the hub. Returns 1 with
 * *channel and *payload (NUL-terminated, valid until the next call), 0 when
 * none came, -1 when the connection is lost.
 */
int link_poll(link *l, int timeout_ms, const char **channel, const char **payload, size_t *len);
/* True when QoS 1 publish `token` has its PUBACK. Only meaningful while connected. */
bool link_delivered(link *l, int token);
/* Waits for the PUBACK of `token` up to timeout_ms. */
bool link_wait(link *l, int token, int timeout_ms);
void link_disconnect(link *l);

#endif
