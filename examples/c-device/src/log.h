/* One line per event on the console: `<time> <level> <event> key=value ...`. Never log the token. */
#ifndef LOG_H
#define LOG_H

#if defined(__GNUC__)
#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LOG_PRINTF(a, b)
#endif

void log_event(const char *level, const char *event, const char *fmt, ...) LOG_PRINTF(3, 4);

#define LOG_INFO(event, ...) log_event("info", event, __VA_ARGS__)
#define LOG_WARN(event, ...) log_event("warn", event, __VA_ARGS__)
#define LOG_ERROR(event, ...) log_event("error", event, __VA_ARGS__)

#endif
