/* fuzz_envfile.c: environment files (core/base/ts_envfile.c) and the
 * settings resolved from them (core/config/ts_settings.c over the posix
 * store), as every Tessera program reads /etc/tessera/environment and
 * the user's ~/.config/tessera/environment, files an administrator may
 * edit by hand.
 *
 * The input is the all-users file. Invariants: a refusal says which
 * file; a file that parses keeps every assignment's last value; a file
 * changed with ts_envfile_set (as `env set` does) and rendered parses
 * again with the same values; and the settings resolved from the file on
 * disk take each setting it assigns from it, with a problem exactly when
 * validation refuses the value.
 */
#include <stdlib.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "fuzz_common.h"
#include "ts_envfile.h"
#include "ts_file.h"
#include "ts_settings.h"

#define PATH "/etc/tessera/environment"

static tsp_settings_roots_t roots;
static const char *system_file;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  apr_pool_t *pool = fuzz_init();
  const char *dir = fuzz_scratch_dir();
  int count;
  const ts_setting_def_t *defs = ts_settings_schema(&count);
  ts_error_t *err;

  (void)argc;
  (void)argv;
  /* the process environment outranks the files: keep it out */
  for (int i = 0; i < count; i++)
    unsetenv(defs[i].name);
  roots.sysconfdir = ts_path_join(dir, "etc", pool);
  roots.xdg_config_home = ts_path_join(dir, "user", pool);
  roots.home = dir;
  system_file = ts_path_join(roots.sysconfdir, "tessera/environment", pool);
  err = ts_dir_make(ts_path_join(roots.sysconfdir, "tessera", pool),
                    TS_FPROT_DIR, pool);
  FUZZ_CHECK(!err, "%s", ts_error_text(err, pool));
  return 0;
}

/* Every assignment visited: the last value of each name. */
static void
collect(void *baton, const char *name, const char *value, int line)
{
  FUZZ_CHECK(line > 0, "assignment of %s without a line number", name);
  apr_hash_set(baton, name, APR_HASH_KEY_STRING, value);
}

/* Set every name to its value again, render, parse: the same values. */
static void
check_round_trip(ts_envfile_t *ef, apr_hash_t *last, apr_pool_t *pool)
{
  ts_envfile_t *again;
  const char *text;
  ts_error_t *err;

  for (apr_hash_index_t *hi = apr_hash_first(pool, last); hi;
       hi = apr_hash_next(hi)) {
    const char *name = apr_hash_this_key(hi), *value = apr_hash_this_val(hi);
    FUZZ_CHECK(strcmp(ts_envfile_get(ef, name), value) == 0,
               "get(%s) is not the last assignment", name);
    err = ts_envfile_check(name, value);
    if (err) {              /* `env set` refuses such values before this */
      ts_error_clear(err);
      continue;
    }
    ts_envfile_set(ef, name, value);
  }
  text = ts_envfile_render(ef);
  err = ts_envfile_parse(&again, PATH, text, strlen(text), pool);
  FUZZ_CHECK(!err, "the rendered file does not parse: %s\n---\n%s---",
             ts_error_text(err, pool), text);
  for (apr_hash_index_t *hi = apr_hash_first(pool, last); hi;
       hi = apr_hash_next(hi)) {
    const char *name = apr_hash_this_key(hi), *value = apr_hash_this_val(hi);
    const char *got = ts_envfile_get(again, name);
    FUZZ_CHECK(got && strcmp(got, value) == 0, "%s='%s' came back as '%s'",
               name, value, got ? got : "(unset)");
    FUZZ_CHECK(ts_envfile_unset(again, name) >= 1 && !ts_envfile_get(again,
               name), "%s is still set after unset", name);
  }
}

/* Resolve the settings with the input as the all-users file. */
static void
check_resolve(int parsed, apr_hash_t *last, apr_pool_t *pool)
{
  tsp_settings_t *store;
  ts_settings_t *settings;
  ts_error_t *err = tsp_settings_open(&store, &roots, pool);

  FUZZ_CHECK(!err, "%s", ts_error_text(err, pool));
  err = ts_settings_resolve(&settings, store, pool, pool);
  if (!parsed) {
    FUZZ_CHECK(err, "a file the parser refused was resolved");
    ts_error_clear(err);
    return;
  }
  FUZZ_CHECK(!err, "a file that parses was not resolved: %s",
             ts_error_text(err, pool));
  for (int i = 0; i < settings->values->nelts; i++) {
    const ts_setting_value_t *v = &APR_ARRAY_IDX(settings->values, i,
                                                 ts_setting_value_t);
    const char *stored = apr_hash_get(last, v->def->name,
                                      APR_HASH_KEY_STRING);
    ts_error_t *invalid;
    if (!stored)
      continue;
    FUZZ_CHECK(v->source == TSP_SRC_SYSTEM_FILE && v->value
               && strcmp(v->value, stored) == 0, "%s not taken from the "
               "file", v->def->name);
    invalid = ts_setting_validate(v->def, v->value, pool);
    FUZZ_CHECK(!invalid == !v->problem
               || strcmp(v->def->name, "INOAGENTPORT") == 0,
               "%s='%s': problem '%s' but validation says '%s'",
               v->def->name, v->value, v->problem ? v->problem : "(none)",
               invalid ? ts_error_text(invalid, pool) : "(valid)");
    ts_error_clear(invalid);
  }
  FUZZ_CHECK(ts_settings_port(settings) == 0
             || (ts_settings_port(settings) >= TS_PORT_MIN
                 && ts_settings_port(settings) <= TS_PORT_MAX),
             "port %d from INOHOST", ts_settings_port(settings));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  apr_pool_t *pool;
  ts_envfile_t *ef;
  apr_hash_t *last;
  ts_error_t *err;

  apr_pool_create(&pool, fuzz_init());
  last = apr_hash_make(pool);
  /* the store reads the file into a NUL-terminated buffer of its length */
  err = ts_envfile_parse(&ef, PATH, fuzz_cstring(data, size, pool), size,
                         pool);
  if (err) {
    const char *text = ts_error_text(err, pool);
    FUZZ_CHECK(ts_error_code(err) == TS_ECONFIG && strstr(text, PATH),
               "a refusal that does not name the file: %s", text);
    ts_error_clear(err);
  }
  else {
    ts_envfile_each(ef, collect, last);
    check_round_trip(ef, last, pool);
  }
  fuzz_write_file(system_file, data, size, pool);
  check_resolve(!err, last, pool);
  apr_pool_destroy(pool);
  return 0;
}
