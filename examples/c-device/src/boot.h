/*
 * The boot counter [FP-4.1 boot]: kept in non-volatile memory and raised at
 * every start, so the hub can tell this boot's seq numbers from those of the
 * backlog of an earlier boot.
 */
#ifndef BOOT_H
#define BOOT_H

#include <stdint.h>

/* Reads, raises and durably stores the counter; returns the new boot, or -1 on a storage error. */
int64_t boot_next(void);

#endif
