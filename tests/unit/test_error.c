/* test_error.c: the error type's promises: wrapping keeps the code, the
 * text reads outermost first, OS errors carry their text, exit statuses
 * follow sysexits.h. */
#include <string.h>
#include <criterion/criterion.h>
#include <apr_general.h>

#include "ts_error.h"

static apr_pool_t *pool;

static void setup(void) { apr_initialize(); apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); apr_terminate(); }

TestSuite(error, .init = setup, .fini = teardown);

static ts_error_t *
inner(void)
{
  return ts_error_createf(TS_EINVAL, "the port %d is out of range", 80);
}

static ts_error_t *
outer(void)
{
  TS_ERR_W(inner(), "cannot set %s", "INOHOST");
  return NULL;
}

Test(error, wrap_keeps_code_and_reads_outermost_first)
{
  ts_error_t *err = outer();

  cr_assert_not_null(err);
  cr_assert_eq(ts_error_code(err), TS_EINVAL);
  cr_assert_eq(ts_error_exit_status(err), 65);
  cr_assert_str_eq(ts_error_text(err, pool),
                   "cannot set INOHOST: the port 80 is out of range");
  cr_assert_str_eq(ts_error_root_text(err, pool),
                   "the port 80 is out of range");
  ts_error_clear(err);
}

Test(error, apr_errors_map_to_sysexits)
{
  ts_error_t *e1 = ts_error_aprf(APR_EACCES, "cannot write /etc/x");
  ts_error_t *e2 = ts_error_aprf(APR_ENOENT, "cannot open /nope");
  ts_error_t *e3 = ts_error_wrapf(ts_error_aprf(APR_EACCES, "open"), "ctx");

  cr_assert_eq(ts_error_exit_status(e1), 77);
  cr_assert_eq(ts_error_exit_status(e2), 66);
  cr_assert_eq(ts_error_exit_status(e3), 77);
  cr_assert(ts_error_has(e3, TS_EPERM));
  cr_assert(strstr(ts_error_text(e1, pool), "cannot write /etc/x ("),
            "OS text appended: %s", ts_error_text(e1, pool));
  cr_assert_eq(ts_error_exit_status(NULL), 0);
  ts_error_clear(e1);
  ts_error_clear(e2);
  ts_error_clear(e3);
}
