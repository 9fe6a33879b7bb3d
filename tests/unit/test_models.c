/* Managed models and versions on disk (core/project/ts_models.h): the
 * settings, the naming rule, listings that never show a half version, and
 * the sweep of what an interrupted change left. (Making and copying
 * versions: test_versions.c.) */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "ts_file.h"
#include "ts_models.h"
#include "ts_repo.h"
#include "tsp.h"

static apr_pool_t *pool;
static char root[] = "/tmp/test_models.XXXXXX";

static void
setup(void)
{
  apr_initialize();
  apr_pool_create(&pool, NULL);
  cr_assert_not_null(mkdtemp(root));
}

static void
teardown(void)
{
  apr_pool_destroy(pool);
  apr_terminate();
}

TestSuite(models, .init = setup, .fini = teardown);

/* EXPR, an error or NULL, is NULL; else its text is shown. */
#define assert_ok(expr)                                                 \
  do {                                                                  \
    ts_error_t *e_ = (expr);                                            \
    cr_assert_null(e_, "%s", e_ ? ts_error_text(e_, pool) : "");        \
  } while (0)


static void
mkdirs(const char *rel)
{
  assert_ok(ts_dir_make(ts_path_join(root, rel, pool), TS_FPROT_DIR,
                             pool));
}

static int
exists(const char *rel)
{
  apr_finfo_t fi;

  return apr_stat(&fi, ts_path_join(root, rel, pool), APR_FINFO_TYPE, pool)
         == APR_SUCCESS;
}

Test(models, a_definition_reads_back_as_written)
{
  ts_model_def_t def = { "bridge", "demo", "^b[0-9]{4}$", "b$(YYYY)", 512,
                         0, 1 }, *got;

  assert_ok(ts_model_define(root, &def, pool));
  assert_ok(ts_model_read(&got, root, "bridge", pool));
  cr_assert_str_eq(got->product, "demo");
  cr_assert_str_eq(got->check, "^b[0-9]{4}$");
  cr_assert_str_eq(got->proposal, "b$(YYYY)");
  cr_assert_eq(got->quota_ram_mb, 512);
  cr_assert_eq(got->quota_disk_mb, 0);
  cr_assert_eq(got->restart, 1);
}

Test(models, a_bad_check_expression_is_refused_and_nothing_written)
{
  ts_model_def_t def = { "bridge", "demo", "b[0-9", NULL, 0, 0, 0 }, *got;
  ts_error_t *err = ts_model_define(root, &def, pool);

  cr_assert_not_null(err);
  cr_assert(strstr(ts_error_text(err, pool), "'b[0-9' of the model bridge "
                   "is not a regular expression"), "%s",
            ts_error_text(err, pool));
  ts_error_clear(err);
  err = ts_model_read(&got, root, "bridge", pool);
  cr_assert_eq(ts_error_code(err), TS_ENOENT);
  cr_assert(strstr(ts_error_text(err, pool), "tessera-admin models define "
                   "bridge --product PRODUCT"), "%s",
            ts_error_text(err, pool));
  ts_error_clear(err);
}

/* model.json is written by whichever agent defined the model: settings
 * that parse but no model may have are refused naming the file (found
 * by tests/fuzz/fuzz_models.c). */
Test(models, settings_a_model_cannot_have_are_refused_naming_the_file)
{
  static const char *const bodies[] = {
    "\"product\": \"de}o\"",
    "\"product\": \"demo\", \"quota_ram_mb\": -1",
    "\"product\": \"demo\", \"check\": \"(b\"",
  };
  const char *path = ts_path_join(root, "ivr/bridge/model.json", pool);
  ts_model_def_t *got;

  mkdirs("ivr/bridge");
  for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
    const char *text = apr_psprintf(pool, "{\"version\": 1, \"model\": "
                                    "\"bridge\", %s}", bodies[i]);
    ts_error_t *err;

    assert_ok(ts_file_replace(path, text, strlen(text), TS_FPROT_FILE,
                              pool));
    err = ts_model_read(&got, root, "bridge", pool);
    cr_assert_eq(ts_error_code(err), TS_EINVAL, "%s", text);
    cr_assert(strstr(ts_error_message(err, pool), path), "%s: %s", text,
              ts_error_message(err, pool));
    cr_assert(strstr(ts_error_message(err, pool), "tessera-admin models "
                     "define"), "%s", ts_error_message(err, pool));
    ts_error_clear(err);
  }
}

Test(models, the_proposal_fills_every_placeholder)
{
  ts_model_def_t def = { "bridge", "demo", NULL, "$(Model.Name)_$(YYYY)"
                         "$(YY)$(MM)$(DD)$(hh)$(mm)$(ss)_$(Source.Name)_"
                         "$(User.Name)_$(User.LoginName)$(Nope)", 0, 0, 0 };
  apr_time_exp_t t = { 0 };
  ts_naming_t n = { "v1", "Ada Lovelace", "ada", 0 };

  t.tm_year = 126; t.tm_mon = 10; t.tm_mday = 30;
  t.tm_hour = 7; t.tm_min = 5; t.tm_sec = 9;
  cr_assert_eq(apr_time_exp_get(&n.now, &t), APR_SUCCESS);
  /* local time; the space of the user's name is no name character */
  cr_assert_str_eq(ts_model_propose(&def, &n, pool),
                   "bridge_20262611300705" "09_v1_Ada_Lovelace_ada__Nope_");
}

Test(models, a_name_against_the_rule_is_refused_with_rule_and_proposal)
{
  ts_model_def_t def = { "bridge", "demo", "b[0-9]{4}", "b$(YYYY)", 0, 0,
                         0 };
  ts_naming_t n = { NULL, "ada", "ada", apr_time_now() };
  ts_error_t *err;

  assert_ok(ts_model_check_name(&def, "b1234", &n, pool));
  /* the expression must match the whole name, not a part */
  err = ts_model_check_name(&def, "xb1234", &n, pool);
  cr_assert_eq(ts_error_code(err), TS_EINVAL);
  cr_assert(strstr(ts_error_text(err, pool), "must match the check "
                   "expression 'b[0-9]{4}' as a whole; the proposal "
                   "'b$(YYYY)' gives 'b2"), "%s", ts_error_text(err, pool));
  ts_error_clear(err);
  err = ts_model_check_name(&def, "../etc", &n, pool);
  cr_assert(strstr(ts_error_text(err, pool), "'../etc' is not a valid "
                   "version name"), "%s", ts_error_text(err, pool));
  ts_error_clear(err);
}

Test(models, listings_show_whole_versions_only)
{
  apr_array_header_t *v;
  ts_version_t *x;

  mkdirs("ivr/bridge/v2");
  mkdirs("ivr/bridge/v1");
  mkdirs("ivr/bridge/.new.v3.ws1.1.abcd");
  mkdirs("readonly/bridge/v1-backup");
  mkdirs("ivr/tunnel/t1");
  assert_ok(ts_versions_list(&v, root, pool));
  cr_assert_eq(v->nelts, 4);
  x = &APR_ARRAY_IDX(v, 0, ts_version_t);
  cr_assert_str_eq(x->version, "v1");
  x = &APR_ARRAY_IDX(v, 1, ts_version_t);
  cr_assert_str_eq(x->version, "v2");
  x = &APR_ARRAY_IDX(v, 2, ts_version_t);
  cr_assert_str_eq(x->version, "v1-backup");
  cr_assert(x->read_only);
  x = &APR_ARRAY_IDX(v, 3, ts_version_t);
  cr_assert_str_eq(x->model, "tunnel");
}

Test(models, the_sweep_removes_only_what_an_ended_process_here_left)
{
  int removed;
  /* a pid that does not run: a child that has been reaped */
  long dead = 0, alive = tsp_process_self();
  apr_proc_t p;
  apr_procattr_t *attr;
  const char *argv[] = { "/bin/true", NULL };
  int code;
  apr_exit_why_e why;

  apr_procattr_create(&attr, pool);
  cr_assert_eq(apr_proc_create(&p, argv[0], argv, NULL, attr, pool), 0);
  apr_proc_wait(&p, &code, &why, APR_WAIT);
  dead = p.pid;
  mkdirs(apr_psprintf(pool, "ivr/bridge/.new.v3.ws1.%ld.0011", dead));
  mkdirs(apr_psprintf(pool, "ivr/bridge/.new.v4.ws1.%ld.0011", alive));
  mkdirs(apr_psprintf(pool, "ivr/bridge/.new.v5.ws2.%ld.0011", dead));
  mkdirs(apr_psprintf(pool, "readonly/bridge/.backup.b.ws1.%ld.1/x", dead));
  mkdirs("ivr/bridge/v1");
  assert_ok(ts_models_sweep(&removed, root, "ws1", pool));
  cr_assert_eq(removed, 2);
  cr_assert_not(exists(apr_psprintf(pool, "ivr/bridge/.new.v3.ws1.%ld.0011",
                                    dead)));
  cr_assert_not(exists(apr_psprintf(pool, "readonly/bridge/.backup.b.ws1."
                                    "%ld.1", dead)));
  cr_assert(exists(apr_psprintf(pool, "ivr/bridge/.new.v4.ws1.%ld.0011",
                                alive)), "a live process's work is its own");
  cr_assert(exists(apr_psprintf(pool, "ivr/bridge/.new.v5.ws2.%ld.0011",
                                dead)), "another machine's pids mean "
            "nothing here");
  cr_assert(exists("ivr/bridge/v1"));
}

Test(models, a_deleted_version_is_gone_from_the_listing_at_once)
{
  apr_array_header_t *v;

  mkdirs("ivr/bridge/v1/sub");
  assert_ok(ts_version_delete(root, "bridge", "v1", 0, "ws1", pool));
  assert_ok(ts_versions_list(&v, root, pool));
  cr_assert_eq(v->nelts, 0);
  cr_assert_not(exists("ivr/bridge/v1"));
}

Test(models, versions_and_backups_are_made_whole_with_their_meta)
{
  ts_model_def_t def = { "bridge", "demo", NULL, NULL, 0, 0, 0 };
  ts_repo_meta_t meta;
  apr_array_header_t *v;
  apr_off_t bytes = 0;
  ts_error_t *err;

  assert_ok(ts_model_define(root, &def, pool));
  assert_ok(ts_version_create(root, &def, "v1", NULL, "ws1", pool));
  assert_ok(ts_version_create(root, &def, "v2", "v1", "ws1", pool));
  assert_ok(ts_version_backup(root, &def, "v2", "v2-saved", "ws1", pool));
  assert_ok(ts_repo_read_meta(&meta, ts_version_dir(root, "bridge", "v2", 0,
                                                    pool), pool));
  cr_assert_str_eq(meta.version, "v2");
  cr_assert_str_eq(meta.product, "demo");
  cr_assert_not(meta.read_only);
  assert_ok(ts_repo_read_meta(&meta, ts_version_dir(root, "bridge",
                                                    "v2-saved", 1, pool),
                              pool));
  cr_assert(meta.read_only);
  assert_ok(ts_version_size(&bytes, root, "bridge", "v1", 0, pool));
  cr_assert_gt(bytes, 0);
  /* an existing name is refused, and nothing is left behind */
  err = ts_version_create(root, &def, "v2", NULL, "ws1", pool);
  cr_assert_eq(ts_error_code(err), TS_EINVAL);
  cr_assert(strstr(ts_error_text(err, pool), "exists already"), "%s",
            ts_error_text(err, pool));
  ts_error_clear(err);
  err = ts_version_create(root, &def, "v3", "nope", "ws1", pool);
  cr_assert_eq(ts_error_code(err), TS_ENOENT);
  ts_error_clear(err);
  assert_ok(ts_versions_list(&v, root, pool));
  cr_assert_eq(v->nelts, 3);
  cr_assert_eq(system(apr_psprintf(pool, "test -z \"$(ls -A %s/ivr/bridge "
                                   "| grep '^\\.')\"", root)), 0,
               "no work directory left");
}

Test(models, a_delete_of_a_name_no_version_may_have_says_so)
{
  ts_error_t *err = ts_version_delete(root, "bridge", "..", 0, "ws1", pool);

  cr_assert_eq(ts_error_code(err), TS_EINVAL);
  cr_assert(strstr(ts_error_text(err, pool), "'..' is not a valid version "
                   "name"), "%s", ts_error_text(err, pool));
  ts_error_clear(err);
}
