#include "device.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "boot.h"
#include "commands.h"
#include "log.h"
#include "platform.h"
#include "thermostat.h"

#define FW_VERSION "1.1.0"
#define MODEL "c-ref"
/* A telemetry message stays well under MAX_PAYLOAD_BYTES = 65536 [FP-2.1]. */
#define TELEMETRY_BYTES_MAX 60000

static char telemetry_buf[TELEMETRY_BYTES_MAX + 512];

int device_init(device *d, const config *cfg, link *l) {
  memset(d, 0, sizeof *d);
  d->cfg = cfg;
  d->link = l;
  d->applied_version = -1;
  d->boot = boot_next();
  if (d->boot < 0) return -1;
  if (outbox_open(&d->outbox, (size_t)cfg->outbox_capacity) != 0) return -1;
  if (cmd_dedup_open(&d->dedup) != 0) return -1;
  thermo_init();
  d->next_sample = plat_mono_ms();
  LOG_INFO("boot", "boot=%" PRId64 " backlog=%zu time_mode=%s fw=%s", d->boot, d->outbox.count, cfg->time_mode == TIME_AGE ? "age" : "ts",
           FW_VERSION);
  return 0;
}

/* Epoch ms by the best clock the device has: its own if synchronised, else the hub's from pong; -1 if none. */
static int64_t now_epoch(const device *d) {
  if (d->cfg->time_mode == TIME_TS && plat_clock_synced()) return plat_now_ms();
  if (d->have_hub_clock) return plat_mono_ms() + d->hub_offset;
  return -1;
}

static void publish_json(device *d, const char *channel, cJSON *msg, int qos) {
  char *text = cJSON_PrintUnformatted(msg);
  if (text && link_publish(d->link, channel, text, strlen(text), qos, false, NULL) == 0) d->last_sent = plat_mono_ms();
  free(text);
}

static void send_hello(device *d) {
  cJSON *hello = cJSON_CreateObject();
  cJSON_AddStringToObject(hello, "kind", "thermostat");
  cJSON_AddStringToObject(hello, "fw", FW_VERSION);
  cJSON_AddStringToObject(hello, "model", MODEL);
  cJSON_AddNumberToObject(hello, "heartbeatSec", d->cfg->heartbeat_sec);
  cJSON_AddNumberToObject(hello, "boot", (double)d->boot);
  cJSON_AddNumberToObject(hello, "maxMessageBytes", d->cfg->max_message_bytes);
  thermo_declare_metrics(cJSON_AddObjectToObject(hello, "metrics"));
  commands_declare(cJSON_AddObjectToObject(hello, "commands"));
  thermo_declare_state(cJSON_AddObjectToObject(hello, "state"));
  publish_json(d, "hello", hello, 1);
  cJSON_Delete(hello);
}

/* [FP-4.3] the full reported state, the desired version applied, and the desired keys it cannot apply. */
static void report_state(device *d, cJSON *refused) {
  cJSON *msg = cJSON_CreateObject();
  thermo_report(cJSON_AddObjectToObject(msg, "state"));
  if (d->applied_version >= 0) cJSON_AddNumberToObject(msg, "version", (double)d->applied_version);
  if (refused && cJSON_GetArraySize(refused) > 0) cJSON_AddItemReferenceToObject(msg, "refused", refused);
  publish_json(d, "state", msg, 1);
  cJSON_Delete(msg);
}

void device_on_connect(device *d) {
  /* [FP-6] online, retained: overwrites a will the broker may have published. */
  static const char online[] = "{\"status\":\"online\"}";
  link_publish(d->link, "status", online, sizeof online - 1, 1, true, NULL);
  send_hello(d);
  report_state(d, NULL);
  d->last_sent = plat_mono_ms();
}

void device_on_disconnect(device *d) {
  /* Unacknowledged samples go again on the next connection, with the same boot and seq [FP-3.1]. */
  for (int k = 0; k < MAX_INFLIGHT; k++) d->slot_token[k] = 0;
  outbox_release_all(&d->outbox);
}

static void on_desired(device *d, const cJSON *msg) {
  const cJSON *state = cJSON_GetObjectItemCaseSensitive(msg, "state");
  const cJSON *version = cJSON_GetObjectItemCaseSensitive(msg, "version");
  if (!cJSON_IsObject(state) || !cJSON_IsNumber(version)) {
    LOG_WARN("desired_ignored", "reason=malformed");
    return;
  }
  cJSON *refused = cJSON_CreateObject();
  const cJSON *item;
  cJSON_ArrayForEach(item, state) {
    if (cJSON_IsNull(item)) continue; /* no desired value: leave it as it is */
    char reason[200] = "";
    apply_outcome o = thermo_apply(item->string, item, reason, sizeof reason);
    if (o == APPLY_CHANGED) LOG_INFO("desired_applied", "key=%s", item->string);
    else if (o == APPLY_REFUSED) {
      LOG_INFO("desired_refused", "key=%s reason=%s", item->string, reason);
      cJSON_AddStringToObject(refused, item->string, reason);
    }
    /* APPLY_UNKNOWN: [FP-4.3] ignore keys it does not know. */
  }
  d->applied_version = (int64_t)version->valuedouble;
  LOG_INFO("desired", "version=%" PRId64 " refused=%d", d->applied_version, cJSON_GetArraySize(refused));
  /* Reported even when nothing changed: the hub learns the version was seen [FP-4.3]. */
  report_state(d, refused);
  cJSON_Delete(refused);
}

static void on_command(device *d, const cJSON *msg) {
  command_outcome out;
  if (commands_handle(&d->dedup, msg, now_epoch(d), &out) != 0) {
    LOG_WARN("command_ignored", "reason=no id");
    return;
  }
  if (link_publish(d->link, "results", out.message, strlen(out.message), 1, false, NULL) == 0) d->last_sent = plat_mono_ms();
  if (out.state_changed) report_state(d, NULL);
}

static void on_pong(device *d, const cJSON *msg) {
  const cJSON *ts = cJSON_GetObjectItemCaseSensitive(msg, "ts");
  if (!cJSON_IsNumber(ts)) return;
  int64_t offset = (int64_t)ts->valuedouble - plat_mono_ms();
  bool first = !d->have_hub_clock;
  d->hub_offset = offset;
  d->have_hub_clock = true;
  if (first) LOG_INFO("hub_clock", "ts=%.0f", ts->valuedouble);
}

static void on_error(const cJSON *msg) {
  const cJSON *code = cJSON_GetObjectItemCaseSensitive(msg, "code");
  const cJSON *error = cJSON_GetObjectItemCaseSensitive(msg, "error");
  const cJSON *text = cJSON_GetObjectItemCaseSensitive(msg, "message");
  const cJSON *ref = cJSON_GetObjectItemCaseSensitive(msg, "ref");
  LOG_WARN("hub_error", "code=%d error=%s ref=%s message=%s", cJSON_IsNumber(code) ? code->valueint : 0,
           cJSON_IsString(error) ? error->valuestring : "?", cJSON_IsString(ref) ? ref->valuestring : "-",
           cJSON_IsString(text) ? text->valuestring : "");
}

void device_on_message(device *d, const char *channel, const char *payload, size_t len) {
  if (len > (size_t)d->cfg->max_message_bytes) {
    LOG_WARN("message_too_large", "channel=%s bytes=%zu max=%d", channel, len, d->cfg->max_message_bytes);
    return;
  }
  cJSON *msg = cJSON_ParseWithLength(payload, len);
  if (!cJSON_IsObject(msg)) {
    LOG_WARN("message_ignored", "channel=%s reason=not a JSON object", channel);
    cJSON_Delete(msg);
    return;
  }
  if (strcmp(channel, "desired") == 0) on_desired(d, msg);
  else if (strcmp(channel, "commands") == 0) on_command(d, msg);
  else if (strcmp(channel, "pong") == 0) on_pong(d, msg);
  else if (strcmp(channel, "errors") == 0) on_error(msg);
  /* Anything else (a channel added in a later version): [FP-2.3] ignore it. */
  cJSON_Delete(msg);
}

static void take_sample(device *d) {
  int64_t mono = plat_mono_ms();
  if (thermo_tick(mono) && link_connected(d->link)) report_state(d, NULL);
  outbox_entry e = {.boot = d->boot, .seq = d->next_seq, .mono = mono};
  int64_t ts = now_epoch(d);
  e.ts = ts > 0 ? ts : 0;
  thermo_sample(e.metrics, sizeof e.metrics);
  if (outbox_add(&d->outbox, &e) != 0) {
    LOG_ERROR("storage", "what=outbox.log seq=%" PRId64, e.seq);
    return;
  }
  d->next_seq++;
  LOG_INFO("sample", "boot=%" PRId64 " seq=%" PRId64 " ts=%" PRId64 " pending=%zu", e.boot, e.seq, e.ts, d->outbox.count);
}

typedef enum { TIME_AS_AGE, TIME_AS_TS, TIME_NONE } sample_time;

/*
 * How a sample says when it was taken [FP-4.2]: `age` for this boot's
 * samples of a clockless device (monotonic time is exact within a boot);
 * `ts` when it was taken with a known time; a sample of an earlier boot
 * taken before any time was known cannot be dated at all.
 */
static sample_time time_of(const device *d, const outbox_entry *e) {
  if (e->boot == d->boot && d->cfg->time_mode == TIME_AGE) return TIME_AS_AGE;
  if (e->ts > 0) return TIME_AS_TS;
  return e->boot == d->boot ? TIME_AS_AGE : TIME_NONE;
}

static int append_time(char *buf, size_t cap, const device *d, const outbox_entry *e, int64_t mono) {
  if (time_of(d, e) == TIME_AS_AGE) return snprintf(buf, cap, "\"age\":%" PRId64 ",", mono - e->mono);
  return snprintf(buf, cap, "\"ts\":%" PRId64 ",", e->ts);
}

/* Sends the next unsent samples of one boot as one message in slot k. Returns false when there was nothing to send. */
static bool send_next(device *d, int k) {
  outbox *ob = &d->outbox;
  size_t first = 0;
  for (;;) {
    while (first < ob->count && ob->entries[first].slot != -1) first++;
    if (first == ob->count) return false;
    if (time_of(d, &ob->entries[first]) != TIME_NONE) break;
    LOG_WARN("sample_undatable", "boot=%" PRId64 " seq=%" PRId64, ob->entries[first].boot, ob->entries[first].seq);
    outbox_discard(ob, first);
  }
  const outbox_entry *head = &ob->entries[first];
  int64_t mono = plat_mono_ms();
  size_t members[500];
  size_t n = 0;
  for (size_t i = first; i < ob->count && n < (size_t)d->cfg->batch_max; i++) {
    const outbox_entry *e = &ob->entries[i];
    if (e->slot != -1) continue;
    if (e->boot != head->boot || time_of(d, e) == TIME_NONE) break;
    members[n++] = i;
  }
  char *buf = telemetry_buf;
  size_t cap = sizeof telemetry_buf, len = 0;
  if (n == 1) {
    /* One sample: the plain form every hub version takes. */
    len += (size_t)snprintf(buf, cap, "{\"mid\":\"t%" PRId64 ".%" PRId64 "\",\"boot\":%" PRId64 ",\"seq\":%" PRId64 ",", head->boot, head->seq,
                            head->boot, head->seq);
    len += (size_t)append_time(buf + len, cap - len, d, head, mono);
    len += (size_t)snprintf(buf + len, cap - len, "\"metrics\":%s}", head->metrics);
  } else {
    /* A batch: `boot` on the message, seq and time on each sample [FP-4.2]. */
    len += (size_t)snprintf(buf, cap, "{\"mid\":\"t%" PRId64 ".%" PRId64 "\",\"boot\":%" PRId64 ",\"samples\":[", head->boot, head->seq, head->boot);
    size_t used = 0;
    for (size_t m = 0; m < n; m++) {
      const outbox_entry *e = &ob->entries[members[m]];
      if (len > TELEMETRY_BYTES_MAX - 300) break;
      len += (size_t)snprintf(buf + len, cap - len, "%s{\"seq\":%" PRId64 ",", m ? "," : "", e->seq);
      len += (size_t)append_time(buf + len, cap - len, d, e, mono);
      len += (size_t)snprintf(buf + len, cap - len, "\"metrics\":%s}", e->metrics);
      used++;
    }
    n = used;
    len += (size_t)snprintf(buf + len, cap - len, "]}");
  }
  int token = 0;
  if (link_publish(d->link, "telemetry", buf, len, 1, false, &token) != 0) return false;
  for (size_t m = 0; m < n; m++) ob->entries[members[m]].slot = k;
  d->slot_token[k] = token;
  d->last_sent = mono;
  LOG_INFO("telemetry_sent", "boot=%" PRId64 " first_seq=%" PRId64 " samples=%zu", head->boot, head->seq, n);
  return true;
}

/* Returns how many telemetry messages are still in flight. */
static int collect_acks(device *d) {
  int in_flight = 0;
  for (int k = 0; k < MAX_INFLIGHT; k++) {
    if (d->slot_token[k] == 0) continue;
    if (!link_delivered(d->link, d->slot_token[k])) {
      in_flight++;
      continue;
    }
    size_t n = outbox_ack_slot(&d->outbox, k);
    d->slot_token[k] = 0;
    LOG_INFO("telemetry_acked", "samples=%zu pending=%zu", n, d->outbox.count);
  }
  return in_flight;
}

static void pump_outbox(device *d) {
  collect_acks(d);
  for (int k = 0; k < MAX_INFLIGHT && link_connected(d->link); k++) {
    if (d->slot_token[k] == 0 && !send_next(d, k)) break;
  }
}

void device_tick(device *d) {
  int64_t mono = plat_mono_ms();
  if (mono >= d->next_sample) {
    take_sample(d);
    d->next_sample += d->cfg->interval_ms;
    if (d->next_sample < mono) d->next_sample = mono + d->cfg->interval_ms;
  }
  if (!link_connected(d->link)) return;
  pump_outbox(d);
  /* [FP-5] something at least every heartbeat interval: a ping when idle (at half of it, to be safe). */
  if (mono - d->last_sent >= (int64_t)d->cfg->heartbeat_sec * 500) {
    static const char ping[] = "{}";
    if (link_publish(d->link, "ping", ping, sizeof ping - 1, 0, false, NULL) == 0) d->last_sent = mono;
  }
}

void device_shutdown(device *d) {
  /* Let the PUBACKs of telemetry in flight arrive (briefly): what misses them stays in the outbox for the next boot. */
  int64_t deadline = plat_mono_ms() + 2000;
  while (link_connected(d->link) && collect_acks(d) > 0 && plat_mono_ms() < deadline) {
    const char *channel, *payload;
    size_t len;
    /* A command or desired state arriving now is sent again on the next connection [FP-4.3, FP-4.4]. */
    link_poll(d->link, 50, &channel, &payload, &len);
  }
  if (link_connected(d->link)) {
    static const char offline[] = "{\"status\":\"offline\"}";
    int token = 0;
    if (link_publish(d->link, "status", offline, sizeof offline - 1, 1, true, &token) == 0) link_wait(d->link, token, 2000);
    link_disconnect(d->link);
  }
  outbox_compact(&d->outbox);
  LOG_INFO("stopped", "boot=%" PRId64 " pending=%zu", d->boot, d->outbox.count);
  outbox_close(&d->outbox);
}
