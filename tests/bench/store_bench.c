/* store_bench.c: the session store alone (no HTTP): checkout + check-in
 * pairs in one thread against a fresh store in DIR, each change its own
 * committed transaction. Prints pairs/s and the time per transaction.
 * Built with the tests; run by tests/bench/license_bench.sh.
 * Usage: store_bench DIR [PAIRS] */
#include <stdio.h>
#include <stdlib.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "ts_store.h"

int
main(int argc, const char *const *argv)
{
  apr_pool_t *pool, *each;
  ts_store_t *st;
  ts_error_t *err;
  const char *db;
  int pairs = argc > 2 ? atoi(argv[2]) : 20000;
  apr_time_t t0;
  double secs;

  if (argc < 2) {
    fputs("usage: store_bench DIR [PAIRS]\n", stderr);
    return 64;
  }
  apr_app_initialize(&argc, &argv, NULL);
  apr_pool_create(&pool, NULL);
  apr_pool_create(&each, pool);
  db = apr_pstrcat(pool, argv[1], "/store_bench.db", NULL);
  apr_file_remove(db, pool);
  if ((err = ts_store_open_sqlite(&st, db, pool))) {
    fprintf(stderr, "%s\n", ts_error_text(err, pool));
    return 1;
  }
  t0 = apr_time_now();
  for (int i = 0; i < pairs; i++) {
    ts_session_t s = { NULL, "bench", "u", "h", "store_bench", i, 0, 0,
                       NULL };
    err = ts_store_checkout(st, &s, "h", 1000000, apr_time_from_sec(60),
                            each);
    if (!err)
      err = ts_store_release(st, s.id, "h", "checkin", NULL);
    if (err) {
      fprintf(stderr, "%s\n", ts_error_text(err, pool));
      return 1;
    }
    apr_pool_clear(each);
  }
  secs = (double)(apr_time_now() - t0) / APR_USEC_PER_SEC;
  printf("session store alone: %d pairs in %.2f s: %.0f pairs/s, %.1f us "
         "per transaction\n", pairs, secs, pairs / secs,
         secs / (2.0 * pairs) * 1e6);
  ts_store_close(st);
  apr_pool_destroy(pool);
  apr_terminate();
  return 0;
}
