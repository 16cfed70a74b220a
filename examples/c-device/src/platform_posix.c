/* The platform layer on POSIX (Linux gateway): files in the data dir, fsync, clock_gettime. */
#define _XOPEN_SOURCE 700
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char store_dir[512];

int64_t plat_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A Linux gateway runs an NTP client (systemd-timesyncd, chrony): trust the clock. */
bool plat_clock_synced(void) { return true; }

int64_t plat_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void plat_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

uint32_t plat_random(void) {
  static bool seeded = false;
  if (!seeded) {
    unsigned seed = (unsigned)plat_mono_ms() ^ (unsigned)getpid();
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd >= 0) {
      if (read(fd, &seed, sizeof seed) != (ssize_t)sizeof seed) seed ^= (unsigned)plat_now_ms();
      close(fd);
    }
    srandom(seed);
    seeded = true;
  }
  return (uint32_t)random();
}

static int path_of(const char *name, char *out, size_t cap) {
  int n = snprintf(out, cap, "%s/%s", store_dir, name);
  return n > 0 && (size_t)n < cap ? 0 : -1;
}

int plat_storage_init(const char *dir) {
  if (strlen(dir) >= sizeof store_dir - 64) return -1;
  strcpy(store_dir, dir);
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) return -1;
  return 0;
}

long plat_store_read(const char *name, char *buf, size_t cap) {
  char path[600];
  if (path_of(name, path, sizeof path) != 0) return -1;
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  size_t n = fread(buf, 1, cap - 1, f);
  fclose(f);
  buf[n] = '\0';
  return (long)n;
}

static int fsync_dir(void) {
  int fd = open(store_dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Write to name.tmp, fsync, rename over name, fsync the directory: the POSIX recipe for an atomic replace. */
int plat_store_write(const char *name, const char *data, size_t len) {
  char path[600], tmp[610];
  if (path_of(name, path, sizeof path) != 0) return -1;
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return -1;
  if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
    close(fd);
    return -1;
  }
  close(fd);
  if (rename(tmp, path) != 0) return -1;
  return fsync_dir();
}

int plat_store_append(const char *name, const char *data, size_t len, bool durable) {
  char path[600];
  if (path_of(name, path, sizeof path) != 0) return -1;
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0) return -1;
  int rc = write_all(fd, data, len);
  if (rc == 0 && durable) rc = fdatasync(fd);
  close(fd);
  return rc;
}

int plat_store_each_line(const char *name, void (*fn)(char *line, void *ctx), void *ctx) {
  char path[600];
  if (path_of(name, path, sizeof path) != 0) return -1;
  FILE *f = fopen(path, "rb");
  if (!f) return errno == ENOENT ? 0 : -1;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) > 0) {
    if (line[n - 1] != '\n') break; /* torn by a crash mid-append */
    line[n - 1] = '\0';
    fn(line, ctx);
  }
  free(line);
  fclose(f);
  return 0;
}

void plat_log_line(const char *line) {
  fprintf(stderr, "%s\n", line);
  fflush(stderr);
}
