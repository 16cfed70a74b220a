#include "commands.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "thermostat.h"

typedef enum { P_INTEGER, P_ENUM } param_type;

typedef struct {
  const char *name;
  param_type type;
  double min, max;
  const char *const *values;
  int n_values;
  bool required;
  const char *unit;
} param_spec;

typedef struct {
  const char *name;
  const char *description;
  const param_spec *params;
  int n_params;
  /* Fills result (an object to add to) or sets error; returns true on success. */
  bool (*run)(const cJSON *params, cJSON *result, char *error, size_t cap, bool *state_changed);
} command_spec;

static const char *const MODE_VALUES[] = {"off", "heat", "eco"};
static const param_spec SET_MODE_PARAMS[] = {{"mode", P_ENUM, 0, 0, MODE_VALUES, 3, true, NULL}};
static const param_spec IDENTIFY_PARAMS[] = {{"seconds", P_INTEGER, 1, 60, NULL, 0, false, "s"}};

static bool run_set_mode(const cJSON *params, cJSON *result, char *error, size_t cap, bool *state_changed) {
  const char *mode = cJSON_GetObjectItemCaseSensitive(params, "mode")->valuestring;
  apply_outcome o = thermo_set_mode(mode, error, cap);
  if (o == APPLY_REFUSED) return false;
  *state_changed = o == APPLY_CHANGED;
  cJSON_AddStringToObject(result, "mode", thermo_mode());
  return true;
}

static bool run_identify(const cJSON *params, cJSON *result, char *error, size_t cap, bool *state_changed) {
  (void)error;
  (void)cap;
  (void)state_changed;
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(params, "seconds");
  int seconds = s ? (int)s->valuedouble : 5;
  /* A real device blinks its display here; this one says so in its log. */
  LOG_INFO("identify", "seconds=%d", seconds);
  cJSON_AddNumberToObject(result, "seconds", seconds);
  return true;
}

static const command_spec COMMANDS[] = {
    {"setMode", "switch the mode until desired state says otherwise", SET_MODE_PARAMS, 1, run_set_mode},
    {"identify", "blink the display", IDENTIFY_PARAMS, 1, run_identify},
};
#define N_COMMANDS (int)(sizeof COMMANDS / sizeof COMMANDS[0])

void commands_declare(cJSON *commands) {
  for (int i = 0; i < N_COMMANDS; i++) {
    cJSON *c = cJSON_AddObjectToObject(commands, COMMANDS[i].name);
    cJSON_AddStringToObject(c, "description", COMMANDS[i].description);
    cJSON *params = cJSON_AddObjectToObject(c, "params");
    for (int k = 0; k < COMMANDS[i].n_params; k++) {
      const param_spec *p = &COMMANDS[i].params[k];
      cJSON *spec = cJSON_AddObjectToObject(params, p->name);
      if (p->type == P_ENUM) {
        cJSON_AddStringToObject(spec, "type", "enum");
        cJSON_AddItemToObject(spec, "values", cJSON_CreateStringArray(p->values, p->n_values));
      } else {
        cJSON_AddStringToObject(spec, "type", "integer");
        cJSON_AddNumberToObject(spec, "min", p->min);
        cJSON_AddNumberToObject(spec, "max", p->max);
      }
      if (p->unit) cJSON_AddStringToObject(spec, "unit", p->unit);
      if (p->required) cJSON_AddBoolToObject(spec, "required", true);
    }
  }
}

static const param_spec *find_param(const command_spec *c, const char *name) {
  for (int k = 0; k < c->n_params; k++)
    if (strcmp(c->params[k].name, name) == 0) return &c->params[k];
  return NULL;
}

/* [FP-4.4] SHOULD validate params against what it declared. */
static bool validate(const command_spec *c, const cJSON *params, char *error, size_t cap) {
  if (params && !cJSON_IsObject(params)) {
    snprintf(error, cap, "params must be an object");
    return false;
  }
  const cJSON *item;
  cJSON_ArrayForEach(item, params) {
    const param_spec *p = find_param(c, item->string);
    if (!p) {
      snprintf(error, cap, "unknown parameter \"%.64s\"", item->string);
      return false;
    }
    if (p->type == P_ENUM) {
      bool ok = cJSON_IsString(item);
      for (int v = 0; ok && v < p->n_values; v++)
        if (strcmp(item->valuestring, p->values[v]) == 0) goto next;
      snprintf(error, cap, "parameter \"%s\" must be one of off, heat, eco", p->name);
      return false;
    } else if (!cJSON_IsNumber(item) || item->valuedouble != floor(item->valuedouble) || item->valuedouble < p->min ||
               item->valuedouble > p->max) {
      snprintf(error, cap, "parameter \"%s\" must be an integer from %g to %g", p->name, p->min, p->max);
      return false;
    }
  next:;
  }
  for (int k = 0; k < c->n_params; k++) {
    if (c->params[k].required && !cJSON_GetObjectItemCaseSensitive(params, c->params[k].name)) {
      snprintf(error, cap, "missing parameter \"%s\"", c->params[k].name);
      return false;
    }
  }
  return true;
}

static void build_result(command_outcome *out, const char *id, cJSON *result, const char *error) {
  cJSON *msg = cJSON_CreateObject();
  cJSON_AddStringToObject(msg, "id", id);
  cJSON_AddStringToObject(msg, "status", error ? "failed" : "succeeded");
  if (error) cJSON_AddStringToObject(msg, "error", error);
  else if (result) cJSON_AddItemReferenceToObject(msg, "result", result);
  if (!cJSON_PrintPreallocated(msg, out->message, sizeof out->message, false)) {
    /* A result that does not fit the dedup record is answered as a failure instead. */
    snprintf(out->message, sizeof out->message, "{\"id\":\"%s\",\"status\":\"failed\",\"error\":\"result too large\"}", id);
  }
  cJSON_Delete(msg);
}

int commands_handle(cmd_dedup *dedup, const cJSON *msg, int64_t now, command_outcome *out) {
  memset(out, 0, sizeof *out);
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(msg, "name");
  const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "params");
  const cJSON *expires = cJSON_GetObjectItemCaseSensitive(msg, "expiresAt");
  if (!cJSON_IsString(id) || id->valuestring[0] == '\0' || strlen(id->valuestring) > CMD_ID_MAX) return -1;

  /* [FP-4.4] MUST NOT execute an id twice; answer a duplicate with the previous result. */
  const char *previous = cmd_dedup_find(dedup, id->valuestring);
  if (previous) {
    snprintf(out->message, sizeof out->message, "%s", previous);
    out->duplicate = true;
    LOG_INFO("command_duplicate", "id=%s", id->valuestring);
    return 0;
  }

  char error[256] = "";
  cJSON *result = cJSON_CreateObject();
  const command_spec *c = NULL;
  for (int i = 0; cJSON_IsString(name) && i < N_COMMANDS; i++)
    if (strcmp(COMMANDS[i].name, name->valuestring) == 0) c = &COMMANDS[i];

  if (cJSON_IsNumber(expires) && now >= 0 && now >= (int64_t)expires->valuedouble) {
    /* [FP-4.4] MUST NOT start a command at or after expiresAt. */
    snprintf(error, sizeof error, "expired: expiresAt %.0f is not after the device clock %" PRId64, expires->valuedouble, now);
  } else if (!c) {
    snprintf(error, sizeof error, "unknown command \"%.64s\"", cJSON_IsString(name) ? name->valuestring : "");
  } else if (validate(c, params, error, sizeof error)) {
    LOG_INFO("command_run", "id=%s name=%s", id->valuestring, c->name);
    if (c->run(params, result, error, sizeof error, &out->state_changed)) error[0] = '\0';
  }
  build_result(out, id->valuestring, result, error[0] ? error : NULL);
  cJSON_Delete(result);
  LOG_INFO("command_done", "id=%s status=%s%s%s", id->valuestring, error[0] ? "failed" : "succeeded", error[0] ? " error=" : "", error);
  /* Remembered (durably) before the result goes out: a crash in between answers the repeat, never runs it again. */
  if (cmd_dedup_put(dedup, id->valuestring, out->message) != 0) LOG_ERROR("storage", "what=commands.log");
  return 0;
}
