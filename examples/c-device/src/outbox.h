/*
 * The outbox: samples kept in non-volatile memory until the hub acknowledged
 * them (PUBACK), so none is lost to a dropped connection, a hub outage or a
 * reboot [FP-3.1, FP-4.2]. A sample keeps the boot and seq it was taken
 * with: after a reboot the backlog is sent with its own `boot`, and the hub
 * stores each sample exactly once.
 *
 * On storage it is an append-only log (one durable `S` line per sample,
 * one `A` line per acknowledged sample), compacted to the pending samples
 * when it grows. A torn last line (power cut mid-write) is skipped.
 */
#ifndef OUTBOX_H
#define OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#define OUTBOX_METRICS_MAX 160

typedef struct {
  int64_t boot;
  int64_t seq;
  /* Epoch ms when taken, 0 if the device had no time then. */
  int64_t ts;
  /* plat_mono_ms() when taken: valid only within `boot`. */
  int64_t mono;
  /* Telemetry message id slot it travels in, -1 when not in flight. */
  int slot;
  char metrics[OUTBOX_METRICS_MAX];
} outbox_entry;

typedef struct {
  outbox_entry *entries;
  size_t count, capacity;
  /* A lines written since the last compaction. */
  size_t acks_logged;
  unsigned long dropped;
} outbox;

int outbox_open(outbox *ob, size_t capacity);
/* Stores a sample durably; when full, the oldest is dropped (and logged). */
int outbox_add(outbox *ob, const outbox_entry *e);
/* Removes the samples that travelled in `slot`: the hub acknowledged them. */
size_t outbox_ack_slot(outbox *ob, int slot);
/* Removes one sample that can never be sent (for example one that cannot be dated). */
void outbox_discard(outbox *ob, size_t index);
/* Every sample is unsent again (the connection dropped before their PUBACK). */
void outbox_release_all(outbox *ob);
/* Rewrites the log to the pending samples only. */
int outbox_compact(outbox *ob);
void outbox_close(outbox *ob);

#endif
