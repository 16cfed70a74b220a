#include "outbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "platform.h"

#define OUTBOX_FILE "outbox.log"

static void remove_at(outbox *ob, size_t i) {
  memmove(&ob->entries[i], &ob->entries[i + 1], (ob->count - i - 1) * sizeof ob->entries[0]);
  ob->count--;
}

static int find(const outbox *ob, int64_t boot, int64_t seq) {
  for (size_t i = 0; i < ob->count; i++)
    if (ob->entries[i].boot == boot && ob->entries[i].seq == seq) return (int)i;
  return -1;
}

static int log_ack(outbox *ob, const outbox_entry *e) {
  char line[64];
  int n = snprintf(line, sizeof line, "A %" PRId64 " %" PRId64 "\n", e->boot, e->seq);
  ob->acks_logged++;
  /* Not durable on purpose: an ack lost to a crash only makes the sample go
     again, and the hub drops the repeat by its boot and seq [FP-4.2]. */
  return plat_store_append(OUTBOX_FILE, line, (size_t)n, false);
}

static void load_line(char *line, void *ctx) {
  outbox *ob = ctx;
  outbox_entry e = {0};
  int consumed = 0;
  if (line[0] == 'S' && sscanf(line, "S %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %n", &e.boot, &e.seq, &e.ts, &e.mono, &consumed) == 4 &&
      consumed > 0 && strlen(line + consumed) < OUTBOX_METRICS_MAX) {
    strcpy(e.metrics, line + consumed);
    e.slot = -1;
    if (ob->count == ob->capacity) remove_at(ob, 0);
    ob->entries[ob->count++] = e;
  } else if (line[0] == 'A' && sscanf(line, "A %" SCNd64 " %" SCNd64, &e.boot, &e.seq) == 2) {
    int i = find(ob, e.boot, e.seq);
    if (i >= 0) remove_at(ob, (size_t)i);
  }
}

int outbox_open(outbox *ob, size_t capacity) {
  memset(ob, 0, sizeof *ob);
  ob->entries = calloc(capacity, sizeof ob->entries[0]);
  if (!ob->entries) return -1;
  ob->capacity = capacity;
  if (plat_store_each_line(OUTBOX_FILE, load_line, ob) != 0) return -1;
  return outbox_compact(ob);
}

static int format_entry(char *buf, size_t cap, const outbox_entry *e) {
  return snprintf(buf, cap, "S %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %s\n", e->boot, e->seq, e->ts, e->mono, e->metrics);
}

int outbox_add(outbox *ob, const outbox_entry *e) {
  if (ob->count == ob->capacity) {
    outbox_entry *oldest = &ob->entries[0];
    LOG_WARN("outbox_full", "dropped_boot=%" PRId64 " dropped_seq=%" PRId64 " capacity=%zu", oldest->boot, oldest->seq, ob->capacity);
    ob->dropped++;
    log_ack(ob, oldest);
    remove_at(ob, 0);
  }
  char line[OUTBOX_METRICS_MAX + 96];
  int n = format_entry(line, sizeof line, e);
  /* Durable before the sample counts as taken: this is the flash write. */
  if (plat_store_append(OUTBOX_FILE, line, (size_t)n, true) != 0) return -1;
  ob->entries[ob->count] = *e;
  ob->entries[ob->count].slot = -1;
  ob->count++;
  return 0;
}

size_t outbox_ack_slot(outbox *ob, int slot) {
  size_t removed = 0;
  for (size_t i = 0; i < ob->count;) {
    if (ob->entries[i].slot == slot) {
      log_ack(ob, &ob->entries[i]);
      remove_at(ob, i);
      removed++;
    } else {
      i++;
    }
  }
  if (ob->acks_logged > ob->capacity) outbox_compact(ob);
  return removed;
}

void outbox_discard(outbox *ob, size_t index) {
  log_ack(ob, &ob->entries[index]);
  remove_at(ob, index);
}

void outbox_release_all(outbox *ob) {
  for (size_t i = 0; i < ob->count; i++) ob->entries[i].slot = -1;
}

int outbox_compact(outbox *ob) {
  size_t cap = ob->count * (OUTBOX_METRICS_MAX + 96) + 1;
  char *buf = malloc(cap);
  if (!buf) return -1;
  size_t len = 0;
  for (size_t i = 0; i < ob->count; i++) len += (size_t)format_entry(buf + len, cap - len, &ob->entries[i]);
  int rc = plat_store_write(OUTBOX_FILE, buf, len);
  free(buf);
  if (rc == 0) ob->acks_logged = 0;
  return rc;
}

void outbox_close(outbox *ob) {
  free(ob->entries);
  ob->entries = NULL;
  ob->count = 0;
}
