/*
 * Reference device for the hub's device protocol 1.1 (firmware-protocol.md):
 * a thermostat on MQTT. This file is the connection loop: connect, back off,
 * run the device, stop cleanly on SIGINT/SIGTERM.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <signal.h>
#include <string.h>

#include "backoff.h"
#include "config.h"
#include "device.h"
#include "link.h"
#include "log.h"
#include "platform.h"

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

/* [FP-3.1] CONNACK return codes. */
static const char *connack_reason(int rc) {
  switch (rc) {
    case 1: return "unacceptable protocol version";
    case 2: return "identifier rejected";
    case 3: return "server unavailable";
    case 4: return "bad user name or password";
    case 5: return "not authorized";
    default: return "network";
  }
}

int main(int argc, char **argv) {
  config cfg;
  if (config_load(&cfg, argc, argv) != 0) return 2;
  if (plat_storage_init(cfg.data_dir) != 0) {
    LOG_ERROR("storage", "what=data dir %s", cfg.data_dir);
    return 1;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  link *l = link_create(&cfg);
  device d;
  if (!l || device_init(&d, &cfg, l) != 0) {
    LOG_ERROR("init_failed", "data_dir=%s", cfg.data_dir);
    return 1;
  }
  backoff b;
  backoff_init(&b, cfg.backoff_min_ms, cfg.backoff_max_ms);
  int64_t next_attempt = 0;
  bool was_connected = false;

  while (!stop_requested) {
    int64_t now = plat_mono_ms();
    if (was_connected && !link_connected(l)) {
      was_connected = false;
      device_on_disconnect(&d);
      int delay = backoff_next(&b);
      next_attempt = now + delay;
      LOG_WARN("connection_lost", "retry_in_ms=%d", delay);
    }
    if (!link_connected(l)) {
      if (now >= next_attempt) {
        LOG_INFO("connecting", "host=%s port=%d id=%s", cfg.host, cfg.port, cfg.device_id);
        int rc = link_connect(l);
        if (rc == 0) {
          LOG_INFO("connected", "boot=%" PRId64, d.boot);
          backoff_reset(&b);
          was_connected = true;
          device_on_connect(&d);
        } else {
          /* [FP-3.1] CONNACK 4 needs an operator: retry only slowly. 1, 2 and 5 are configuration errors too. */
          bool slow = rc == 1 || rc == 2 || rc == 4 || rc == 5;
          int delay = slow ? cfg.auth_backoff_ms / 2 + (int)(plat_random() % (uint32_t)(cfg.auth_backoff_ms / 2 + 1)) : backoff_next(&b);
          next_attempt = now + delay;
          LOG_WARN("connect_failed", "rc=%d reason=%s retry_in_ms=%d", rc, connack_reason(rc), delay);
        }
      }
      device_tick(&d);
      if (!link_connected(l)) plat_sleep_ms(50);
      continue;
    }
    const char *channel, *payload;
    size_t len;
    if (link_poll(l, 50, &channel, &payload, &len) == 1) device_on_message(&d, channel, payload, len);
    if (link_connected(l)) device_tick(&d);
  }
  LOG_INFO("stopping", "signal=1");
  device_shutdown(&d);
  link_destroy(l);
  return 0;
}
