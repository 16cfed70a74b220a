/*
 * The last CMD_DEDUP_SIZE command ids and the result each got, kept in
 * non-volatile memory. The hub sends an unfinished command again with the
 * same id on every new connection, so a device executes an id once and
 * answers a repeat with the result it gave [FP-4.4].
 */
#ifndef CMD_DEDUP_H
#define CMD_DEDUP_H

#include <stddef.h>

#define CMD_DEDUP_SIZE 32
#define CMD_ID_MAX 64
#define CMD_RESULT_MAX 512

typedef struct {
  char id[CMD_ID_MAX + 1];
  /* The complete `result` message sent for it. */
  char result[CMD_RESULT_MAX];
} cmd_record;

typedef struct {
  cmd_record records[CMD_DEDUP_SIZE];
  size_t count, next;
} cmd_dedup;

int cmd_dedup_open(cmd_dedup *d);
/* The stored result message of id, or NULL. */
const char *cmd_dedup_find(const cmd_dedup *d, const char *id);
/* Remembers id → result (evicting the oldest) and persists before the result is sent. */
int cmd_dedup_put(cmd_dedup *d, const char *id, const char *result);

#endif
