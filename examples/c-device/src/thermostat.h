/*
 * The device itself: a thermostat with a mode, a target temperature and a
 * heating valve, and a simulated room. Its state keys are declared in
 * `hello.state` [FP-4.1] from the table in thermostat.c; desired values are
 * checked against the same table before they are applied [FP-4.3].
 */
#ifndef THERMOSTAT_H
#define THERMOSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

typedef enum { APPLY_CHANGED, APPLY_UNCHANGED, APPLY_REFUSED, APPLY_UNKNOWN } apply_outcome;

void thermo_init(void);
/* Advances the simulated room; returns true when a reported state value changed. */
bool thermo_tick(int64_t mono_ms);
/* Adds the declarations for hello.state. */
void thermo_declare_state(cJSON *state);
/* Adds the declarations for hello.metrics. */
void thermo_declare_metrics(cJSON *metrics);
/* Adds the reported state (every key). */
void thermo_report(cJSON *state);
/* The current readings as a JSON object text, for the outbox. */
int thermo_sample(char *buf, size_t cap);
/* Applies one desired key; on APPLY_REFUSED, reason says why [FP-4.3 refused]. */
apply_outcome thermo_apply(const char *key, const cJSON *value, char *reason, size_t cap);
/* setMode: the same validation as desired `mode`. */
apply_outcome thermo_set_mode(const char *mode, char *reason, size_t cap);
const char *thermo_mode(void);

#endif
