#include "backoff.h"

#include "platform.h"

void backoff_init(backoff *b, int min_ms, int max_ms) {
  b->min_ms = min_ms;
  b->max_ms = max_ms;
  b->attempt = 0;
}

int backoff_next(backoff *b) {
  long delay = b->min_ms;
  for (int i = 0; i < b->attempt && delay < b->max_ms; i++) delay *= 2;
  if (delay > b->max_ms) delay = b->max_ms;
  if (b->attempt < 30) b->attempt++;
  long half = delay / 2;
  return (int)(half + (half > 0 ? (long)(plat_random() % (uint32_t)(half + 1)) : 0));
}

void backoff_reset(backoff *b) { b->attempt = 0; }
