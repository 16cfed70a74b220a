#include "link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <MQTTClient.h>

#include "log.h"

struct link {
  MQTTClient client;
  const config *cfg;
  bool connected;
  char prefix[80]; /* devices/{id}/ */
  char will_topic[96];
  char *topic;
  MQTTClient_message *message;
  char *payload;
};

static const char OFFLINE[] = "{\"status\":\"offline\"}";

link *link_create(const config *cfg) {
  link *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  l->cfg = cfg;
  snprintf(l->prefix, sizeof l->prefix, "devices/%s/", cfg->device_id);
  snprintf(l->will_topic, sizeof l->will_topic, "devices/%s/status", cfg->device_id);
  char uri[300];
  snprintf(uri, sizeof uri, "tcp://%s:%d", cfg->host, cfg->port);
  MQTTClient_createOptions opts = MQTTClient_createOptions_initializer;
  opts.MQTTVersion = MQTTVERSION_3_1_1;
  /* [FP-3.1] client id = device id. No persistence: the outbox is ours. */
  if (MQTTClient_createWithOptions(&l->client, uri, cfg->device_id, MQTTCLIENT_PERSISTENCE_NONE, NULL, &opts) != MQTTCLIENT_SUCCESS) {
    free(l);
    return NULL;
  }
  return l;
}

static void free_message(link *l) {
  if (l->message) MQTTClient_freeMessage(&l->message);
  if (l->topic) MQTTClient_free(l->topic);
  free(l->payload);
  l->message = NULL;
  l->topic = NULL;
  l->payload = NULL;
}

void link_destroy(link *l) {
  if (!l) return;
  free_message(l);
  MQTTClient_destroy(&l->client);
  free(l);
}

int link_connect(link *l) {
  MQTTClient_connectOptions opts = MQTTClient_connectOptions_initializer;
  MQTTClient_willOptions will = MQTTClient_willOptions_initializer;
  will.topicName = l->will_topic;
  will.message = OFFLINE;
  will.qos = 1;
  will.retained = 1;
  opts.will = &will;
  opts.keepAliveInterval = 60;
  opts.cleansession = 1;
  opts.username = l->cfg->device_id;
  opts.password = l->cfg->token;
  opts.MQTTVersion = MQTTVERSION_3_1_1;
  opts.connectTimeout = 10;
  /* Telemetry keeps at most a few messages in flight [FP-7.3]; the rest (hello, state, results) are few. */
  opts.maxInflightMessages = LINK_MAX_TOKENS;
  opts.reliable = 0;
  int rc = MQTTClient_connect(l->client, &opts);
  if (rc != MQTTCLIENT_SUCCESS) return rc > 0 && rc <= 5 ? rc : -1;
  char filter[96];
  snprintf(filter, sizeof filter, "%s#", l->prefix);
  /* [FP-3.1] subscribe before hello; covers commands, desired, errors and pong. */
  rc = MQTTClient_subscribe(l->client, filter, 1);
  if (rc != MQTTCLIENT_SUCCESS) {
    LOG_WARN("subscribe_failed", "filter=%s rc=%d", filter, rc);
    MQTTClient_disconnect(l->client, 0);
    return -1;
  }
  l->connected = true;
  return 0;
}

bool link_connected(const link *l) { return l->connected; }

int link_publish(link *l, const char *channel, const char *payload, size_t len, int qos, bool retained, int *token) {
  char topic[96];
  snprintf(topic, sizeof topic, "%s%s", l->prefix, channel);
  MQTTClient_message msg = MQTTClient_message_initializer;
  msg.payload = (void *)payload;
  msg.payloadlen = (int)len;
  msg.qos = qos;
  msg.retained = retained;
  MQTTClient_deliveryToken dt = 0;
  int rc = MQTTClient_publishMessage(l->client, topic, &msg, &dt);
  if (rc != MQTTCLIENT_SUCCESS) {
    LOG_WARN("publish_failed", "channel=%s rc=%d (%s)", channel, rc, MQTTClient_strerror(rc));
    if (!MQTTClient_isConnected(l->client)) l->connected = false;
    return -1;
  }
  if (token) *token = dt;
  return 0;
}

int link_poll(link *l, int timeout_ms, const char **channel, const char **payload, size_t *len) {
  free_message(l);
  int topic_len = 0;
  int rc = MQTTClient_receive(l->client, &l->topic, &topic_len, &l->message, (unsigned long)timeout_ms);
  if (rc != MQTTCLIENT_SUCCESS && rc != MQTTCLIENT_TOPICNAME_TRUNCATED) {
    l->connected = false;
    return -1;
  }
  if (!MQTTClient_isConnected(l->client)) {
    l->connected = false;
    free_message(l);
    return -1;
  }
  if (!l->message) return 0;
  size_t n = (size_t)l->message->payloadlen;
  l->payload = malloc(n + 1);
  if (!l->payload) return 0;
  memcpy(l->payload, l->message->payload, n);
  l->payload[n] = '\0';
  size_t plen = strlen(l->prefix);
  /* Only our own topics can arrive (the hub refuses other filters); anything else is ignored. */
  *channel = strncmp(l->topic, l->prefix, plen) == 0 ? l->topic + plen : "";
  *payload = l->payload;
  *len = n;
  return 1;
}

bool link_delivered(link *l, int token) {
  /*
   * Paho's synchronous client has no per-token query: a QoS 1 token is
   * complete when it left the pending list. With clean session the list is
   * also emptied when the connection drops, which must not count as a
   * PUBACK: so only a connected client's answer is trusted, and the caller
   * forgets every token when the connection drops.
   */
  MQTTClient_deliveryToken *tokens = NULL;
  if (MQTTClient_getPendingDeliveryTokens(l->client, &tokens) != MQTTCLIENT_SUCCESS) return false;
  bool pending = false;
  for (int i = 0; tokens && tokens[i] != -1; i++)
    if (tokens[i] == token) pending = true;
  if (tokens) MQTTClient_free(tokens);
  return !pending && MQTTClient_isConnected(l->client);
}

bool link_wait(link *l, int token, int timeout_ms) {
  return MQTTClient_waitForCompletion(l->client, token, (unsigned long)timeout_ms) == MQTTCLIENT_SUCCESS;
}

void link_disconnect(link *l) {
  free_message(l);
  if (MQTTClient_isConnected(l->client)) MQTTClient_disconnect(l->client, 1000);
  l->connected = false;
}
