/* Reconnect delays: exponential with jitter, so a fleet that lost the hub together does not return together [FP-3.1]. */
#ifndef BACKOFF_H
#define BACKOFF_H

typedef struct {
  int min_ms, max_ms, attempt;
} backoff;

void backoff_init(backoff *b, int min_ms, int max_ms);
/* The next delay: min·2^attempt capped at max, then a random point in its upper half. */
int backoff_next(backoff *b);
void backoff_reset(backoff *b);

#endif
