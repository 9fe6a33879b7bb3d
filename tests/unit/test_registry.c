/* test_registry.c: the license server's registry of model servers
 * (core/roles/license/ts_registry.c) as brokering uses it: registering,
 * registering again, heartbeats, lookups by model, removal. Inputs found
 * by the fuzzer (tests/fuzz, harness "api") stay here as regression
 * tests. */
#include <string.h>
#include <criterion/criterion.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "ts_registry.h"

static apr_pool_t *pool;
static const char *dir, *logfile;
static ts_registry_t *registry;
static int registered, gone;

static void
changed(void *baton, const ts_model_server_t *ms, int up, const char *why)
{
  (void)baton;
  (void)ms;
  (void)why;
  if (up)
    registered++;
  else
    gone++;
}

static void
setup(void)
{
  const char *tmp;
  ts_log_t *log;

  apr_initialize();
  apr_pool_create(&pool, NULL);
  apr_temp_dir_get(&tmp, pool);
  dir = apr_psprintf(pool, "%s/tessera-registry-%" APR_TIME_T_FMT, tmp,
                     apr_time_now());
  logfile = apr_pstrcat(pool, dir, "/license.log", NULL);
  cr_assert_null(ts_log_open(&log, logfile, 0, 0, pool));
  {
    ts_registry_options_t o = { 0 };
    o.probe = 10;
    o.gone_after = 30;
    o.log = log;
    o.change = changed;
    cr_assert_null(ts_registry_create(&registry, &o, pool));
  }
  registered = gone = 0;
}

static void
teardown(void)
{
  apr_file_remove(logfile, pool);
  apr_dir_remove(dir, pool);
  apr_pool_destroy(pool);
  apr_terminate();
}

TestSuite(registry, .init = setup, .fini = teardown);

/* Register HOST:PORT with REPOSITORY offering MODEL. */
static void
add(const char *host, int port, const char *repository, const char *model)
{
  ts_model_server_t ms = { 0 };

  ms.host = host;
  ms.port = port;
  ms.repository = repository;
  ms.license_server = "lic1.17000";
  ms.pid = 4711;
  ms.models = apr_array_make(pool, 1, sizeof(const char *));
  APR_ARRAY_PUSH(ms.models, const char *) = model;
  ms.links = apr_array_make(pool, 0, sizeof(const char *));
  cr_assert_null(ts_registry_add(registry, &ms, pool));
}

/* Found by fuzzing: registering an id again destroyed the old entry's
 * pool while the table kept the old entry's copy of the id as its key
 * (apr_hash_set keeps the first key), so the next lookups read freed
 * memory (ASan: heap-use-after-free in apr_hash_get from
 * ts_registry_add). With a release APR the freed block is reused by the
 * next entry, and the model server that registered again is lost. */
Test(registry, registering_again_replaces_the_entry)
{
  const ts_model_server_t *ms;
  const char *model;
  int proxy, up, down, proxies;

  add("127.0.0.1", 17006, "repo1", "m1");
  add("127.0.0.1", 17006, "repo2", "m2");
  add("127.0.0.1", 17007, "repo3", "m3");
  cr_assert_eq(registered, 3);
  cr_assert_eq(ts_registry_heartbeat(registry, "127.0.0.1:17006"), 1);
  cr_assert(ts_registry_find(&ms, &model, &proxy, registry, "m2", pool));
  cr_assert_str_eq(ms->id, "127.0.0.1:17006");
  cr_assert_str_eq(ms->repository, "repo2");
  cr_assert_not(ts_registry_find(&ms, &model, &proxy, registry, "m1",
                                 pool), "the replaced entry is still there");
  ts_registry_counts(registry, &up, &down, &proxies);
  cr_assert_eq(up, 2);
  cr_assert_eq(down, 0);
  cr_assert(ts_registry_remove(registry, "127.0.0.1:17006", pool));
  cr_assert_eq(gone, 1);
  cr_assert_eq(ts_registry_heartbeat(registry, "127.0.0.1:17006"), -1);
  cr_assert_eq(ts_registry_heartbeat(registry, "127.0.0.1:17007"), 1);
}
