/* Device configuration: environment variables, overridden by command-line flags. */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>

typedef enum { TIME_TS, TIME_AGE } time_mode;

typedef struct {
  const char *host;
  int port;
  const char *device_id;
  const char *token;
  const char *data_dir;
  int interval_ms;
  int heartbeat_sec;
  time_mode time_mode;
  int backoff_min_ms;
  int backoff_max_ms;
  int auth_backoff_ms;
  int outbox_capacity;
  int batch_max;
  int max_message_bytes;
} config;

/* Returns 0, or prints one line naming the bad setting and returns -1. */
int config_load(config *c, int argc, char **argv);
void config_usage(void);

#endif
