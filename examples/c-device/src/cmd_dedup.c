#include "cmd_dedup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"

#define DEDUP_FILE "commands.log"

static void add(cmd_dedup *d, const char *id, const char *result) {
  cmd_record *r = &d->records[d->next];
  snprintf(r->id, sizeof r->id, "%s", id);
  snprintf(r->result, sizeof r->result, "%s", result);
  d->next = (d->next + 1) % CMD_DEDUP_SIZE;
  if (d->count < CMD_DEDUP_SIZE) d->count++;
}

/* A line is `<id> <result message>`; ids match [^ ]{1,64} (the hub issues `cmd_` + 26 characters). */
static void load_line(char *line, void *ctx) {
  char *space = strchr(line, ' ');
  if (!space || space == line || space - line > CMD_ID_MAX) return;
  *space = '\0';
  add(ctx, line, space + 1);
}

int cmd_dedup_open(cmd_dedup *d) {
  memset(d, 0, sizeof *d);
  return plat_store_each_line(DEDUP_FILE, load_line, d);
}

const char *cmd_dedup_find(const cmd_dedup *d, const char *id) {
  for (size_t i = 0; i < d->count; i++)
    if (strcmp(d->records[i].id, id) == 0) return d->records[i].result;
  return NULL;
}

static int storable(const char *id) {
  for (const char *c = id; *c; c++)
    if (*c <= ' ' || *c == 0x7f) return 0;
  return *id != '\0';
}

int cmd_dedup_put(cmd_dedup *d, const char *id, const char *result) {
  add(d, id, result);
  /* An id the line format cannot hold is remembered in RAM only (the hub's ids never are). */
  if (!storable(id)) return 0;
  /* Rewrite oldest first, so that loading replays them in order. */
  char *buf = malloc(CMD_DEDUP_SIZE * (CMD_ID_MAX + CMD_RESULT_MAX + 2));
  if (!buf) return -1;
  size_t len = 0;
  for (size_t k = 0; k < d->count; k++) {
    const cmd_record *r = &d->records[(d->next + CMD_DEDUP_SIZE - d->count + k) % CMD_DEDUP_SIZE];
    if (!storable(r->id)) continue;
    len += (size_t)sprintf(buf + len, "%s %s\n", r->id, r->result);
  }
  int rc = plat_store_write(DEDUP_FILE, buf, len);
  free(buf);
  return rc;
}
