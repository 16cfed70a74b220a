#include "boot.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "platform.h"

#define BOOT_FILE "boot"

int64_t boot_next(void) {
  char buf[32];
  int64_t boot = 0;
  if (plat_store_read(BOOT_FILE, buf, sizeof buf) > 0) boot = strtoll(buf, NULL, 10);
  if (boot < 0 || boot >= INT64_C(9007199254740991)) boot = 0;
  boot++;
  int n = snprintf(buf, sizeof buf, "%" PRId64 "\n", boot);
  /* Stored before it is used: two boots never share a number. */
  return plat_store_write(BOOT_FILE, buf, (size_t)n) == 0 ? boot : -1;
}
