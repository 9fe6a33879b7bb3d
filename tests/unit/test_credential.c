/* test_credential.c: the server credential: created once, owner-only,
 * the same for every process that loads it; refused when others may read
 * it or it is not a key; the HTTP token is checked exactly. */
#include <stdio.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_general.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "ts_credential.h"
#include "tsp.h"

static apr_pool_t *pool;
static const char *dir, *path;

static void
setup(void)
{
  const char *tmp;

  apr_initialize();
  apr_pool_create(&pool, NULL);
  apr_temp_dir_get(&tmp, pool);
  dir = apr_psprintf(pool, "%s/tessera-cred-%" APR_TIME_T_FMT, tmp,
                     apr_time_now());
  cr_assert_eq(apr_dir_make(dir, APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS);
  path = ts_credential_path(dir, pool);
}

static void
teardown(void)
{
  apr_file_remove(path, pool);
  apr_dir_remove(dir, pool);
  apr_pool_destroy(pool);
  apr_terminate();
}

TestSuite(credential, .init = setup, .fini = teardown);

Test(credential, created_once_and_the_same_for_every_loader)
{
  ts_credential_t *a, *b;
  int created;
  ts_error_t *err;

  err = ts_credential_load(&a, path, pool);
  cr_assert_eq(ts_error_code(err), TS_ENOENT);
  cr_assert(strstr(ts_error_text(err, pool), "tessera-admin credential "
                   "init"), "%s", ts_error_text(err, pool));
  ts_error_clear(err);
  cr_assert_null(ts_credential_ensure(&a, &created, path, pool));
  cr_assert_eq(created, 1);
  cr_assert_not(tsp_file_others_may_access(path, pool));
  cr_assert_null(ts_credential_ensure(&b, &created, path, pool));
  cr_assert_eq(created, 0, "a second ensure replaced the key");
  cr_assert_str_eq(ts_credential_derive(a, "http", pool),
                   ts_credential_derive(b, "http", pool));
  cr_assert_str_neq(ts_credential_derive(a, "http", pool),
                    ts_credential_derive(a, "bus", pool),
                    "purposes share a derived key");
}

Test(credential, the_http_token_is_checked_exactly)
{
  ts_credential_t *c;
  int created;
  const char *token, *header;
  char wrong[128];

  cr_assert_null(ts_credential_ensure(&c, &created, path, pool));
  token = ts_credential_derive(c, "http", pool);
  header = ts_credential_header(c, pool);
  cr_assert(strstr(header, token));
  cr_assert(ts_credential_check_http(c, apr_pstrcat(pool, "Tessera ", token,
                                                    NULL)));
  cr_assert_not(ts_credential_check_http(c, NULL));
  cr_assert_not(ts_credential_check_http(c, token), "no scheme");
  cr_assert_not(ts_credential_check_http(c, apr_pstrcat(pool, "Basic ",
                                                        token, NULL)));
  snprintf(wrong, sizeof(wrong), "Tessera %s", token);
  wrong[10] = wrong[10] == 'A' ? 'B' : 'A';
  cr_assert_not(ts_credential_check_http(c, wrong), "one character off");
  cr_assert_not(ts_credential_check_http(c, apr_pstrcat(pool, "Tessera ",
                                                        token, "x", NULL)));
}

Test(credential, garbage_is_refused_with_the_way_out)
{
  ts_credential_t *c;
  apr_file_t *f;
  ts_error_t *err;

  cr_assert_eq(apr_file_open(&f, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE,
                             APR_FPROT_UREAD | APR_FPROT_UWRITE, pool),
               APR_SUCCESS);
  apr_file_puts("not a key\n", f);
  apr_file_close(f);
  err = ts_credential_load(&c, path, pool);
  cr_assert_eq(ts_error_code(err), TS_ECONFIG);
  cr_assert(strstr(ts_error_text(err, pool), path));
  ts_error_clear(err);
}

/* ---- racing creators ----------------------------------------------------
 * Servers started together on a fresh INODIR all create the credential at
 * once: one key wins, every one of them loads it whole, nobody sees a
 * half-written file (it was created empty, then written, and a loser read
 * it in between: "is not one line of base64"). */

#define RACERS 8
#define ROUNDS 40

typedef struct racer_t {
  const char *path;
  apr_thread_mutex_t *gate;     /* held until all are ready */
  ts_credential_t *cred;
  int created;
  char error[512];
  apr_pool_t *pool;
} racer_t;

static void *APR_THREAD_FUNC
race(apr_thread_t *thread, void *data)
{
  racer_t *r = data;
  ts_error_t *err;

  apr_thread_mutex_lock(r->gate);     /* wait for the start */
  apr_thread_mutex_unlock(r->gate);
  err = ts_credential_ensure(&r->cred, &r->created, r->path, r->pool);
  if (err)
    apr_cpystrn(r->error, ts_error_text(err, r->pool), sizeof(r->error));
  ts_error_clear(err);
  apr_thread_exit(thread, APR_SUCCESS);
  return NULL;
}

Test(credential, racing_creators_all_load_the_one_key)
{
  for (int round = 0; round < ROUNDS; round++) {
    racer_t r[RACERS];
    apr_thread_t *t[RACERS];
    apr_thread_mutex_t *gate;
    const char *p = apr_psprintf(pool, "%s/race-%d.key", dir, round);
    int created = 0;

    cr_assert_eq(apr_thread_mutex_create(&gate, 0, pool), APR_SUCCESS);
    apr_thread_mutex_lock(gate);
    for (int i = 0; i < RACERS; i++) {
      r[i] = (racer_t){ .path = p, .gate = gate };
      apr_pool_create(&r[i].pool, pool);
      cr_assert_eq(apr_thread_create(&t[i], NULL, race, &r[i], pool),
                   APR_SUCCESS);
    }
    apr_thread_mutex_unlock(gate);
    for (int i = 0; i < RACERS; i++) {
      apr_status_t rv;
      apr_thread_join(&rv, t[i]);
    }
    for (int i = 0; i < RACERS; i++) {
      cr_assert_str_empty(r[i].error, "round %d, racer %d: %s", round, i,
                          r[i].error);
      created += r[i].created;
      cr_assert_str_eq(ts_credential_derive(r[i].cred, "race", pool),
                       ts_credential_derive(r[0].cred, "race", pool),
                       "round %d: racer %d loaded another key", round, i);
    }
    cr_assert_eq(created, 1, "round %d: %d racers say they created it",
                 round, created);
    apr_file_remove(p, pool);
  }
}
