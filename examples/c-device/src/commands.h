/*
 * Commands [FP-4.4]: declared in hello from one table, parameters checked
 * against the same table, each id executed once (cmd_dedup), never after
 * its expiresAt, and every command answered with one final result.
 */
#ifndef COMMANDS_H
#define COMMANDS_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "cmd_dedup.h"

void commands_declare(cJSON *commands);

typedef struct {
  /* The `result` message to publish (NUL-terminated JSON). */
  char message[CMD_RESULT_MAX];
  /* True when the command changed reported state (report it). */
  bool state_changed;
  bool duplicate;
} command_outcome;

/*
 * Handles one `command` message. `now` is epoch ms by the device's best
 * clock, or -1 when it has none (then expiresAt cannot be checked).
 * Returns 0 when `out` holds a result to send, -1 when the message is not
 * a command at all (no id to answer).
 */
int commands_handle(cmd_dedup *dedup, const cJSON *msg, int64_t now, command_outcome *out);

#endif
