/* ts_settings.c: resolving the effective architecture settings and
 * changing them (SPEC §2).
 *
 * Precedence, highest first: the process environment, the current user's
 * store, the all-users store, the default. The same order holds on Linux
 * (environment files) and Windows (HKCU, HKLM); the platform store only
 * reads and writes one scope at a time.
 */
#include "ts_settings.h"
#include "ts_i18n.h"

#include <stdlib.h>
#include <string.h>
#include <apr_env.h>
#include <apr_file_info.h>
#include <apr_strings.h>

ts_error_t *
ts_settings_open_store(tsp_settings_t **store,
                       const tsp_settings_roots_t **roots_p,
                       apr_pool_t *pool)
{
  tsp_settings_roots_t *roots = apr_pcalloc(pool, sizeof(*roots));
  char *value;

  if (apr_env_get(&value, "TESSERA_SYSCONFDIR", pool) == APR_SUCCESS
      && *value)
    roots->sysconfdir = value;
  if (apr_env_get(&value, "TESSERA_REGISTRY_KEY", pool) == APR_SUCCESS
      && *value)
    roots->registry_subkey = value;
  if (roots_p)
    *roots_p = roots;
  return tsp_settings_open(store, roots, pool);
}

const char *
ts_source_name(tsp_source_t source)
{
  switch (source) {
  case TSP_SRC_DEFAULT:     return "default";
  case TSP_SRC_PROCESS_ENV: return "process environment";
  case TSP_SRC_USER_FILE:   return "user file";
  case TSP_SRC_SYSTEM_FILE: return "system file";
  case TSP_SRC_HKCU:        return "HKCU";
  case TSP_SRC_HKLM:        return "HKLM";
  }
  return "unknown";
}

/* Why the agent port A takes another component's port of the plan for
 * P (SPEC §1), or NULL: a sentence for each component. */
static ts_error_t *
agent_port_problem(int a, int p)
{
  if (!p)
    return NULL;
  if (a == p)
    return ts_error_createf(TS_EINVAL, "INOAGENTPORT %d is the port of the "
      "license server (p with p = %d from INOHOST); leave INOAGENTPORT "
      "unset to use p+3 = %d, or choose a port outside %d..%d", a, p, p + 3,
      p, p + 5);
  if (a == p + 1)
    return ts_error_createf(TS_EINVAL, "INOAGENTPORT %d is the port of the "
      "bus (p+1 with p = %d from INOHOST); leave INOAGENTPORT unset to use "
      "p+3 = %d, or choose a port outside %d..%d", a, p, p + 3, p, p + 5);
  if (a == p + 2)
    return ts_error_createf(TS_EINVAL, "INOAGENTPORT %d is the port of the "
      "hub (p+2 with p = %d from INOHOST); leave INOAGENTPORT unset to use "
      "p+3 = %d, or choose a port outside %d..%d", a, p, p + 3, p, p + 5);
  if (a == p + 4)
    return ts_error_createf(TS_EINVAL, "INOAGENTPORT %d is the port of the "
      "notification service (p+4 with p = %d from INOHOST); leave "
      "INOAGENTPORT unset to use p+3 = %d, or choose a port outside %d..%d",
      a, p, p + 3, p, p + 5);
  if (a == p + 5)
    return ts_error_createf(TS_EINVAL, "INOAGENTPORT %d is the port of the "
      "proxy (p+5 with p = %d from INOHOST); leave INOAGENTPORT unset to use "
      "p+3 = %d, or choose a port outside %d..%d", a, p, p + 3, p, p + 5);
  return NULL;
}

/* V's PROBLEM and PROBLEM_MESSAGE: ERR's innermost text in English and
 * for people (ERR is cleared). */
static void
set_problem(ts_setting_value_t *v, ts_error_t *err, apr_pool_t *result_pool,
            apr_pool_t *scratch_pool)
{
  v->problem = apr_pstrdup(result_pool, ts_error_root_text(err,
                                                           scratch_pool));
  v->problem_message = apr_pstrdup(result_pool,
                                   ts_error_root_message(err, scratch_pool));
  ts_error_clear(err);
}

const char *
ts_settings_default(const ts_setting_def_t *def, int port, apr_pool_t *pool)
{
  const char *sub = NULL;
  char *path;

  if (strcmp(def->name, "INOHOST") == 0)
    return "localhost.17000";
  if (strcmp(def->name, "INOLANG") == 0)
    return "en";
  if (strcmp(def->name, "INOAGENTPORT") == 0)
    return port ? apr_itoa(pool, port + 3) : NULL;
  if (strcmp(def->name, "INOLIC") == 0)
    sub = "license";
  else if (strcmp(def->name, "INODIR") == 0)
    sub = "params";
  else if (strcmp(def->name, "INOPRJ") == 0)
    sub = "projects";
  if (!sub)
    return NULL;
  if (apr_filepath_merge(&path, tsp_default_data_dir(pool), sub,
                         APR_FILEPATH_NATIVE, pool) != APR_SUCCESS)
    return NULL;
  return path;
}

/* Cross-setting rules: the agent port must not take another component's
 * port. Sets PROBLEM on the agent port entry. */
static void
check_consistency(ts_settings_t *settings, apr_pool_t *pool)
{
  ts_setting_value_t *agent = NULL;
  ts_error_t *err;

  for (int i = 0; i < settings->values->nelts; i++) {
    ts_setting_value_t *v = &APR_ARRAY_IDX(settings->values, i,
                                           ts_setting_value_t);
    if (strcmp(v->def->name, "INOAGENTPORT") == 0)
      agent = v;
  }
  if (!agent || !agent->value || agent->problem)
    return;
  err = agent_port_problem(atoi(agent->value), ts_settings_port(settings));
  if (err)
    set_problem(agent, err, pool, pool);
}

/* Why V (of SETTINGS) is invalid, as an error: what set its PROBLEM. */
static ts_error_t *
problem_of(const ts_settings_t *settings, const ts_setting_value_t *v,
           apr_pool_t *pool)
{
  ts_error_t *err = ts_setting_reason(v->def, v->value, pool);

  if (!err && strcmp(v->def->name, "INOAGENTPORT") == 0)
    err = agent_port_problem(atoi(v->value), ts_settings_port(settings));
  /* (PROBLEM came from one of the two: the text alone is a fallback) */
  return err ? err : ts_error_createf(TS_EINVAL, "%s", v->problem);
}

ts_error_t *
ts_setting_invalid(const ts_settings_t *settings,
                   const ts_setting_value_t *v, apr_pool_t *pool)
{
  const char *name = v->def->name, *value = v->value, *at = v->location;
  ts_error_t *why;

  if (!v->problem)
    return NULL;
  why = problem_of(settings, v, pool);
  /* N_(): ts_error_wrap_codef is no extraction keyword */
#define INVALID(fmt) ts_error_wrap_codef(TS_ECONFIG, why, fmt, name, value)
#define INVALID_AT(fmt) \
  ts_error_wrap_codef(TS_ECONFIG, why, fmt, name, value, at)
  switch (v->source) {
  case TSP_SRC_DEFAULT:
    return INVALID(N_("%s '%s' from the default is invalid"));
  case TSP_SRC_PROCESS_ENV:
    return INVALID(N_("%s '%s' from the process environment is invalid"));
  case TSP_SRC_USER_FILE:
    return at ? INVALID_AT(N_("%s '%s' from the user file (%s) is invalid"))
              : INVALID(N_("%s '%s' from the user file is invalid"));
  case TSP_SRC_SYSTEM_FILE:
    return at ? INVALID_AT(N_("%s '%s' from the system file (%s) is "
                              "invalid"))
              : INVALID(N_("%s '%s' from the system file is invalid"));
  case TSP_SRC_HKCU:
    return at ? INVALID_AT(N_("%s '%s' from HKCU (%s) is invalid"))
              : INVALID(N_("%s '%s' from HKCU is invalid"));
  case TSP_SRC_HKLM:
    return at ? INVALID_AT(N_("%s '%s' from HKLM (%s) is invalid"))
              : INVALID(N_("%s '%s' from HKLM is invalid"));
  }
  return INVALID(N_("%s '%s' is invalid"));
#undef INVALID
#undef INVALID_AT
}

/* Resolve, optionally pretending that SCOPE holds NAME = VALUE (VALUE
 * NULL: NAME removed from SCOPE). */
static ts_error_t *
resolve(ts_settings_t **settings_p, tsp_settings_t *store,
        ts_scope_t scope, const char *name, const char *value, int pretend,
        apr_pool_t *result_pool, apr_pool_t *scratch_pool)
{
  static const ts_scope_t order[] = { TS_SCOPE_USER, TS_SCOPE_ALL };
  apr_hash_t *stored[2];
  ts_settings_t *settings = apr_pcalloc(result_pool, sizeof(*settings));
  const ts_setting_def_t *defs;
  int count, port = 0;

  for (int s = 0; s < 2; s++) {
    TS_ERR(tsp_settings_read(&stored[s], store, order[s], result_pool,
                             scratch_pool));
    if (pretend && order[s] == scope)
      apr_hash_set(stored[s], name, APR_HASH_KEY_STRING, value);
  }

  defs = ts_settings_schema(&count);
  settings->values = apr_array_make(result_pool, count,
                                    sizeof(ts_setting_value_t));
  for (int i = 0; i < count; i++) {
    ts_setting_value_t *v = apr_array_push(settings->values);
    char *env;
    ts_error_t *err;

    memset(v, 0, sizeof(*v));
    v->def = &defs[i];
    if (apr_env_get(&env, defs[i].name, result_pool) == APR_SUCCESS) {
      v->value = env;
      v->source = TSP_SRC_PROCESS_ENV;
    }
    for (int s = 0; s < 2 && !v->value; s++) {
      v->value = apr_hash_get(stored[s], defs[i].name, APR_HASH_KEY_STRING);
      if (v->value) {
        v->source = tsp_settings_source(order[s]);
        v->location = tsp_settings_location(store, order[s]);
      }
    }
    if (!v->value) {
      v->value = ts_settings_default(&defs[i], port, result_pool);
      v->source = TSP_SRC_DEFAULT;
    }
    if (v->value && (err = ts_setting_validate(&defs[i], v->value,
                                               scratch_pool)))
      set_problem(v, err, result_pool, scratch_pool);
    if (strcmp(defs[i].name, "INOHOST") == 0 && !v->problem) {
      const char *host;
      err = ts_inohost_parse(&host, &port, v->value, scratch_pool);
      ts_error_clear(err);
    }
  }
  check_consistency(settings, result_pool);
  *settings_p = settings;
  return NULL;
}

ts_error_t *
ts_settings_resolve(ts_settings_t **settings, tsp_settings_t *store,
                    apr_pool_t *result_pool, apr_pool_t *scratch_pool)
{
  return resolve(settings, store, TS_SCOPE_USER, NULL, NULL, 0, result_pool,
                 scratch_pool);
}

const ts_setting_value_t *
ts_settings_get(const ts_settings_t *settings, const char *name)
{
  for (int i = 0; i < settings->values->nelts; i++) {
    const ts_setting_value_t *v = &APR_ARRAY_IDX(settings->values, i,
                                                 ts_setting_value_t);
    if (strcmp(v->def->name, name) == 0)
      return v;
  }
  return NULL;
}

int
ts_settings_port(const ts_settings_t *settings)
{
  const ts_setting_value_t *v = ts_settings_get(settings, "INOHOST");
  const char *dot;

  if (!v || !v->value || v->problem || !(dot = strrchr(v->value, '.')))
    return 0;
  return atoi(dot + 1);
}

static int
is_language(const char *value)
{
  for (int i = 0; value && ts_settings_languages[i]; i++)
    if (strcmp(value, ts_settings_languages[i]) == 0)
      return 1;
  return 0;
}

const char *
ts_settings_language(apr_pool_t *scratch_pool)
{
  tsp_settings_t *store = NULL;
  ts_settings_t *settings = NULL;
  const ts_setting_value_t *v = NULL;
  const char *env = getenv("INOLANG");
  ts_error_t *err;

  err = ts_settings_open_store(&store, NULL, scratch_pool);
  if (!err)
    err = ts_settings_resolve(&settings, store, scratch_pool, scratch_pool);
  if (!err)
    v = ts_settings_get(settings, "INOLANG");
  ts_error_clear(err);
  if (v && !v->problem && is_language(v->value))
    return v->value;
  return is_language(env) ? env : "en";
}

const char *
ts_settings_speak(apr_pool_t *scratch_pool)
{
  const char *program = NULL, *lang = ts_settings_language(scratch_pool);
  ts_error_t *err = tsp_program_path(&program, scratch_pool);

  ts_error_clear(err);
  if (strcmp(lang, "en") != 0) {   /* gettext reads it (ts_i18n_set) */
    err = tsp_env_set("LANGUAGE", lang, scratch_pool);
    if (err) {
      const char *why = apr_psprintf(scratch_pool, "messages stay English: "
                                     "%s", ts_error_text(err, scratch_pool));
      ts_error_clear(err);
      return why;
    }
  }
  return ts_i18n_set(lang, program);
}

/* Refuse a change that would make a setting inconsistent that was fine
 * before (e.g. a new INOHOST port whose plan takes the agent's port). */
static ts_error_t *
check_change(tsp_settings_t *store, ts_scope_t scope, const char *name,
             const char *value, apr_pool_t *pool)
{
  ts_settings_t *before, *after;

  TS_ERR(resolve(&before, store, scope, NULL, NULL, 0, pool, pool));
  TS_ERR(resolve(&after, store, scope, name, value, 1, pool, pool));
  for (int i = 0; i < after->values->nelts; i++) {
    const ts_setting_value_t *a = &APR_ARRAY_IDX(after->values, i,
                                                 ts_setting_value_t);
    const ts_setting_value_t *b = &APR_ARRAY_IDX(before->values, i,
                                                 ts_setting_value_t);
    if (a->problem && strcmp(a->def->name, name) != 0 && !b->problem)
      return value ? ts_error_wrapf(problem_of(after, a, pool), "setting %s "
                                    "'%s' would make %s invalid", name,
                                    value, a->def->name)
                   : ts_error_wrapf(problem_of(after, a, pool), "removing "
                                    "%s would make %s invalid", name,
                                    a->def->name);
    if (a->problem && strcmp(a->def->name, name) == 0
        && a->source != TSP_SRC_PROCESS_ENV)
      return problem_of(after, a, pool);
  }
  return NULL;
}

ts_error_t *
ts_settings_set(tsp_settings_t *store, ts_scope_t scope, const char *name,
                const char *value, apr_pool_t *scratch_pool)
{
  const ts_setting_def_t *def = ts_settings_find(name);

  if (!def)
    return ts_error_createf(TS_EUSAGE, "'%s' is not a Tessera setting; "
                            "`tessera-admin env show` lists them", name);
  TS_ERR(ts_setting_validate(def, value, scratch_pool));
  TS_ERR(check_change(store, scope, name, value, scratch_pool));
  return tsp_settings_write(store, scope, name, value, scratch_pool);
}

ts_error_t *
ts_settings_unset(int *removed, tsp_settings_t *store, ts_scope_t scope,
                  const char *name, apr_pool_t *scratch_pool)
{
  apr_hash_t *stored;

  if (!ts_settings_find(name))
    return ts_error_createf(TS_EUSAGE, "'%s' is not a Tessera setting; "
                            "`tessera-admin env show` lists them", name);
  TS_ERR(tsp_settings_read(&stored, store, scope, scratch_pool,
                           scratch_pool));
  *removed = apr_hash_get(stored, name, APR_HASH_KEY_STRING) != NULL;
  if (!*removed)
    return NULL;
  TS_ERR(check_change(store, scope, name, NULL, scratch_pool));
  return tsp_settings_write(store, scope, name, NULL, scratch_pool);
}
