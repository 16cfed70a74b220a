/*
 * The platform layer: everything that differs between an embedded Linux
 * gateway and a microcontroller. A port (ESP-IDF, Zephyr ...) replaces
 * platform_posix.c and nothing else in this folder but link.c (the MQTT
 * client); see README.md "Porting to a microcontroller".
 */
#ifndef PLATFORM_H
#define PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Wall clock, epoch ms. Only meaningful when plat_clock_synced() is true. */
int64_t plat_now_ms(void);
/* True when the wall clock is synchronised (NTP/SNTP). POSIX: assumed. */
bool plat_clock_synced(void);
/* Monotonic ms since this boot; never jumps. */
int64_t plat_mono_ms(void);
void plat_sleep_ms(int ms);
uint32_t plat_random(void);

/*
 * Storage: small named files in non-volatile memory (a directory here; NVS
 * or a LittleFS/SPIFFS partition on a microcontroller).
 */
int plat_storage_init(const char *dir);
/* Reads a whole small file into buf (NUL-terminated). Returns its length, -1 if absent. */
long plat_store_read(const char *name, char *buf, size_t cap);
/* Replaces a file atomically and durably: after a crash it holds the old or the new content. */
int plat_store_write(const char *name, const char *data, size_t len);
/* Appends to a file; durable = flushed to the medium before it returns. */
int plat_store_append(const char *name, const char *data, size_t len, bool durable);
/* Calls fn for every complete line ('\n'-terminated, without it); a torn last line is skipped. */
int plat_store_each_line(const char *name, void (*fn)(char *line, void *ctx), void *ctx);

/* One log line (no newline) to the console. */
void plat_log_line(const char *line);

#endif
