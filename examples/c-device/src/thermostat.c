#include "thermostat.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define TARGET_MIN 5.0
#define TARGET_MAX 30.0
/* The valve controller works in steps of 0.5 °C: a valid number that is not on a step is refused, not rounded. */
#define TARGET_STEP 0.5

static const char *const MODES[] = {"off", "heat", "eco"};
#define N_MODES (sizeof MODES / sizeof MODES[0])

static struct {
  char mode[8];
  double target;
  bool heating;
  double temperature;
  int64_t last_tick;
} th;

void thermo_init(void) {
  /* Factory defaults after every boot: desired state brings back what the operator set [FP-4.3]. */
  strcpy(th.mode, "heat");
  th.target = 21.5;
  th.heating = false;
  th.temperature = 19.0;
  th.last_tick = -1;
}

const char *thermo_mode(void) { return th.mode; }

bool thermo_tick(int64_t mono_ms) {
  double dt = th.last_tick < 0 ? 0 : (double)(mono_ms - th.last_tick) / 1000.0;
  th.last_tick = mono_ms;
  double target = strcmp(th.mode, "eco") == 0 ? th.target - 2.0 : th.target;
  bool was = th.heating;
  /* Hysteresis of 0.3 °C around the target, like a real thermostat. */
  if (strcmp(th.mode, "off") == 0) th.heating = false;
  else if (th.temperature < target - 0.3) th.heating = true;
  else if (th.temperature > target + 0.3) th.heating = false;
  th.temperature += dt * (th.heating ? 0.05 : -0.02);
  return was != th.heating;
}

void thermo_declare_metrics(cJSON *metrics) {
  cJSON *t = cJSON_AddObjectToObject(metrics, "temperature");
  cJSON_AddStringToObject(t, "type", "number");
  cJSON_AddStringToObject(t, "unit", "°C");
  cJSON_AddNumberToObject(t, "min", -20);
  cJSON_AddNumberToObject(t, "max", 60);
  cJSON_AddStringToObject(t, "description", "room temperature");
  cJSON *h = cJSON_AddObjectToObject(metrics, "heating");
  cJSON_AddStringToObject(h, "type", "boolean");
  cJSON_AddStringToObject(h, "description", "valve open");
}

void thermo_declare_state(cJSON *state) {
  cJSON *mode = cJSON_AddObjectToObject(state, "mode");
  cJSON_AddStringToObject(mode, "type", "enum");
  cJSON_AddItemToObject(mode, "values", cJSON_CreateStringArray(MODES, (int)N_MODES));
  cJSON_AddBoolToObject(mode, "settable", true);
  cJSON_AddStringToObject(mode, "description", "off, heat, or eco (2 °C below target)");
  cJSON *target = cJSON_AddObjectToObject(state, "target");
  cJSON_AddStringToObject(target, "type", "number");
  cJSON_AddStringToObject(target, "unit", "°C");
  cJSON_AddNumberToObject(target, "min", TARGET_MIN);
  cJSON_AddNumberToObject(target, "max", TARGET_MAX);
  cJSON_AddBoolToObject(target, "settable", true);
  cJSON_AddStringToObject(target, "description", "set-point, in steps of 0.5 °C");
  cJSON *heating = cJSON_AddObjectToObject(state, "heating");
  cJSON_AddStringToObject(heating, "type", "boolean");
  cJSON_AddBoolToObject(heating, "settable", false);
  cJSON_AddStringToObject(heating, "description", "valve open");
}

void thermo_report(cJSON *state) {
  cJSON_AddStringToObject(state, "mode", th.mode);
  cJSON_AddNumberToObject(state, "target", th.target);
  cJSON_AddBoolToObject(state, "heating", th.heating);
}

int thermo_sample(char *buf, size_t cap) {
  /* One decimal: what the sensor resolves. */
  return snprintf(buf, cap, "{\"temperature\":%.1f,\"heating\":%s}", th.temperature, th.heating ? "true" : "false");
}

apply_outcome thermo_set_mode(const char *mode, char *reason, size_t cap) {
  for (size_t i = 0; i < N_MODES; i++) {
    if (strcmp(mode, MODES[i]) == 0) {
      if (strcmp(th.mode, mode) == 0) return APPLY_UNCHANGED;
      snprintf(th.mode, sizeof th.mode, "%s", mode);
      return APPLY_CHANGED;
    }
  }
  snprintf(reason, cap, "mode must be one of off, heat, eco");
  return APPLY_REFUSED;
}

apply_outcome thermo_apply(const char *key, const cJSON *value, char *reason, size_t cap) {
  if (strcmp(key, "mode") == 0) {
    if (!cJSON_IsString(value)) {
      snprintf(reason, cap, "mode must be a string: off, heat or eco");
      return APPLY_REFUSED;
    }
    return thermo_set_mode(value->valuestring, reason, cap);
  }
  if (strcmp(key, "target") == 0) {
    if (!cJSON_IsNumber(value) || value->valuedouble < TARGET_MIN || value->valuedouble > TARGET_MAX) {
      snprintf(reason, cap, "target must be a number from %.0f to %.0f", TARGET_MIN, TARGET_MAX);
      return APPLY_REFUSED;
    }
    double steps = value->valuedouble / TARGET_STEP;
    if (fabs(steps - round(steps)) > 1e-9) {
      snprintf(reason, cap, "target must be a multiple of %.1f °C: the valve controller cannot hold %g", TARGET_STEP, value->valuedouble);
      return APPLY_REFUSED;
    }
    if (th.target == value->valuedouble) return APPLY_UNCHANGED;
    th.target = value->valuedouble;
    return APPLY_CHANGED;
  }
  if (strcmp(key, "heating") == 0) {
    snprintf(reason, cap, "heating is read-only: the thermostat opens the valve itself");
    return APPLY_REFUSED;
  }
  return APPLY_UNKNOWN;
}
