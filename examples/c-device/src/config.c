#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One table drives the env names, the flags, the defaults and --help. */
typedef enum { KIND_STR, KIND_INT, KIND_TIME } kind;
typedef struct {
  const char *env;
  const char *flag;
  kind kind;
  size_t offset;
  const char *def;
  long min, max;
  const char *help;
} setting;

#define OFF(f) offsetof(config, f)
static const setting settings[] = {
    {"HUB_HOST", "--host", KIND_STR, OFF(host), "127.0.0.1", 0, 0, "hub host name or address"},
    {"HUB_MQTT_PORT", "--port", KIND_INT, OFF(port), "1883", 1, 65535, "hub MQTT port"},
    {"DEVICE_ID", "--id", KIND_STR, OFF(device_id), NULL, 0, 0, "device id (required)"},
    {"DEVICE_TOKEN", "--token", KIND_STR, OFF(token), NULL, 0, 0, "device token (required; prefer the env var: flags show in ps)"},
    {"DATA_DIR", "--data-dir", KIND_STR, OFF(data_dir), "./c-device-data", 0, 0, "boot counter, outbox and command log"},
    {"INTERVAL_MS", "--interval-ms", KIND_INT, OFF(interval_ms), "10000", 100, 3600000, "telemetry interval"},
    {"HEARTBEAT_SEC", "--heartbeat-sec", KIND_INT, OFF(heartbeat_sec), "60", 5, 3600, "heartbeatSec declared in hello [FP-5]"},
    {"TIME_MODE", "--time-mode", KIND_TIME, OFF(time_mode), "ts", 0, 0, "ts (synchronised clock) or age (clockless device) [FP-4.2]"},
    {"BACKOFF_MIN_MS", "--backoff-min-ms", KIND_INT, OFF(backoff_min_ms), "1000", 10, 3600000, "first reconnect delay"},
    {"BACKOFF_MAX_MS", "--backoff-max-ms", KIND_INT, OFF(backoff_max_ms), "60000", 10, 3600000, "longest reconnect delay"},
    {"AUTH_BACKOFF_MS", "--auth-backoff-ms", KIND_INT, OFF(auth_backoff_ms), "300000", 10, 86400000, "reconnect delay after CONNACK 4 (bad credentials)"},
    {"OUTBOX_CAPACITY", "--outbox-capacity", KIND_INT, OFF(outbox_capacity), "1000", 10, 1000000, "samples kept until acknowledged; past it the oldest is dropped"},
    {"BATCH_MAX", "--batch-max", KIND_INT, OFF(batch_max), "50", 1, 500, "most samples per telemetry batch"},
    {"MAX_MESSAGE_BYTES", "--max-message-bytes", KIND_INT, OFF(max_message_bytes), "4096", 1024, 65536, "hello.maxMessageBytes: largest hub message it takes [FP-4.1]"},
};
#define N_SETTINGS (sizeof settings / sizeof settings[0])

void config_usage(void) {
  fprintf(stderr, "usage: c-device [flags]\n");
  for (size_t i = 0; i < N_SETTINGS; i++) {
    const setting *s = &settings[i];
    fprintf(stderr, "  %-22s %-18s %s%s%s%s\n", s->flag, s->env, s->help, s->def ? " (default " : "", s->def ? s->def : "",
            s->def ? ")" : "");
  }
}

static int apply(config *c, const setting *s, const char *value, const char *source) {
  char *base = (char *)c + s->offset;
  if (s->kind == KIND_STR) {
    if (value[0] == '\0') {
      fprintf(stderr, "config: %s must not be empty\n", source);
      return -1;
    }
    *(const char **)base = value;
    return 0;
  }
  if (s->kind == KIND_TIME) {
    if (strcmp(value, "ts") == 0) *(time_mode *)base = TIME_TS;
    else if (strcmp(value, "age") == 0) *(time_mode *)base = TIME_AGE;
    else {
      fprintf(stderr, "config: %s must be ts or age, got \"%s\"\n", source, value);
      return -1;
    }
    return 0;
  }
  char *end;
  long v = strtol(value, &end, 10);
  if (*value == '\0' || *end != '\0' || v < s->min || v > s->max) {
    fprintf(stderr, "config: %s must be an integer %ld..%ld, got \"%s\"\n", source, s->min, s->max, value);
    return -1;
  }
  *(int *)base = (int)v;
  return 0;
}

int config_load(config *c, int argc, char **argv) {
  memset(c, 0, sizeof *c);
  for (size_t i = 0; i < N_SETTINGS; i++) {
    const char *env = getenv(settings[i].env);
    const char *value = env ? env : settings[i].def;
    if (value && apply(c, &settings[i], value, settings[i].env) != 0) return -1;
  }
  for (int a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
      config_usage();
      exit(0);
    }
    const setting *s = NULL;
    for (size_t i = 0; i < N_SETTINGS; i++)
      if (strcmp(argv[a], settings[i].flag) == 0) s = &settings[i];
    if (!s) {
      fprintf(stderr, "config: unknown flag %s (see --help)\n", argv[a]);
      return -1;
    }
    if (a + 1 >= argc) {
      fprintf(stderr, "config: %s needs a value\n", argv[a]);
      return -1;
    }
    if (apply(c, s, argv[++a], s->flag) != 0) return -1;
  }
  if (!c->device_id || !c->token) {
    fprintf(stderr, "config: DEVICE_ID (--id) and DEVICE_TOKEN (--token) are required\n");
    return -1;
  }
  if (strlen(c->device_id) > 64) {
    fprintf(stderr, "config: DEVICE_ID is longer than 64 characters\n");
    return -1;
  }
  if (c->backoff_max_ms < c->backoff_min_ms) {
    fprintf(stderr, "config: BACKOFF_MAX_MS must be at least BACKOFF_MIN_MS\n");
    return -1;
  }
  return 0;
}
