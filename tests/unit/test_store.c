/* test_sessions.c: the session store's promises: never more sessions than
 * seats, check-in and lease expiry free the seat, the counts survive a
 * reopen; the observer hears every end after its commit; a store of an
 * earlier release is upgraded with its sessions. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_thread_proc.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_hash.h>

#include <sqlite3.h>

#include "ts_store.h"

static apr_pool_t *pool;
static const char *db;

static void
setup(void)
{
  const char *tmp;

  apr_initialize();
  apr_pool_create(&pool, NULL);
  apr_temp_dir_get(&tmp, pool);
  db = apr_psprintf(pool, "%s/tessera-sessions-%d.db", tmp, (int)getpid());
  apr_file_remove(db, pool);
}

static void
teardown(void)
{
  apr_file_remove(db, pool);
  apr_file_remove(apr_pstrcat(pool, db, "-wal", NULL), pool);
  apr_file_remove(apr_pstrcat(pool, db, "-shm", NULL), pool);
  apr_pool_destroy(pool);
  apr_terminate();
}

TestSuite(sessions, .init = setup, .fini = teardown);

/* The hash of the holder's token, as the store sees it. */
#define TOKEN "hash-of-ada's-token"

static ts_error_t *
take(ts_store_t *st, const char **id, long seats,
     apr_interval_time_t lease)
{
  ts_session_t s = { NULL, "modeler", "ada", "ws1", "test", 42, 0, 0,
                     NULL };
  ts_error_t *err = ts_store_checkout(st, &s, TOKEN, seats, lease, pool);

  if (id)
    *id = s.id;
  return err;
}

Test(sessions, seats_checkin_and_expiry)
{
  ts_store_t *st;
  const char *a, *b;
  long used;
  ts_error_t *err;

  cr_assert_null(ts_store_open_sqlite(&st, db, pool));
  cr_assert_null(take(st, &a, 2, apr_time_from_sec(60)));
  cr_assert_null(take(st, &b, 2, apr_time_from_sec(60)));
  err = take(st, NULL, 2, apr_time_from_sec(60));
  cr_assert_not_null(err, "a third seat of two");
  cr_assert_eq(ts_error_code(err), TS_EUNAVAIL);
  cr_assert(strstr(ts_error_text(err, pool), "2 of 2 in use"));
  ts_error_clear(err);

  cr_assert_null(ts_store_release(st, a, TOKEN, "checkin", NULL));
  cr_assert_null(ts_store_count(&used, st, "modeler"));
  cr_assert_eq(used, 1);
  err = ts_store_release(st, a, TOKEN, "checkin", NULL);
  cr_assert_eq(ts_error_code(err), TS_ENOENT, "released twice");
  ts_error_clear(err);

  /* a lease that runs out frees its seat */
  cr_assert_null(take(st, NULL, 2, apr_time_from_msec(1)));
  apr_sleep(apr_time_from_msec(20));
  cr_assert_null(ts_store_count(&used, st, "modeler"));
  cr_assert_eq(used, 1, "the expired lease still counts");
  cr_assert_null(take(st, NULL, 2, apr_time_from_sec(60)));
  cr_assert_null(ts_store_count(&used, st, "modeler"));
  cr_assert_eq(used, 2);
  ts_store_close(st);

  /* the counts are the sessions', also after a reopen */
  cr_assert_null(ts_store_open_sqlite(&st, db, pool));
  cr_assert_null(ts_store_count(&used, st, "modeler"));
  cr_assert_eq(used, 2);
  cr_assert_null(ts_store_count(&used, st, "other"));
  cr_assert_eq(used, 0);
  ts_store_close(st);
}

Test(sessions, heartbeat_extends_the_lease)
{
  ts_store_t *st;
  const char *a;
  apr_time_t expires;
  long used;

  cr_assert_null(ts_store_open_sqlite(&st, db, pool));
  cr_assert_null(take(st, &a, 1, apr_time_from_msec(30)));
  cr_assert_null(ts_store_renew(&expires, st, a, TOKEN,
                                apr_time_from_sec(60)));
  cr_assert_gt(expires, apr_time_now() + apr_time_from_sec(50));
  apr_sleep(apr_time_from_msec(50));
  cr_assert_null(ts_store_count(&used, st, "modeler"));
  cr_assert_eq(used, 1, "a renewed session expired at its old time");
  ts_store_close(st);
}

/* What the observer heard: "event:detail" lines. */
static char heard[1024];

static void
observer(void *baton, const char *event, const ts_session_t *s,
         const void *detail)
{
  size_t n = strlen(heard);

  /* runs on the store's writer thread: no allocation from the test's
   * pool */
  (void)baton;
  (void)s;
  apr_snprintf(heard + n, sizeof(heard) - n, "%s:%s;", event,
               detail ? (const char *)detail : "-");
}

/* The observer of the idle-expiry test: signals each ending. */
typedef struct expiry_watch_t {
  apr_thread_mutex_t *lock;
  apr_thread_cond_t *cond;
  int expired;
} expiry_watch_t;

static void
watch_expiry(void *baton, const char *event, const ts_session_t *s,
             const void *detail)
{
  expiry_watch_t *w = baton;

  (void)s;
  (void)detail;
  apr_thread_mutex_lock(w->lock);
  w->expired += strcmp(event, "expiry") == 0;
  apr_thread_cond_signal(w->cond);
  apr_thread_mutex_unlock(w->lock);
}

/* Nobody calls the store after the checkout: the lease's end is noticed
 * on its own (the bus and the audit log hear of it when it happens, not
 * at the next request). */
Test(sessions, an_idle_store_reclaims_a_lease_when_it_ends)
{
  ts_store_t *st;
  expiry_watch_t w = { NULL, NULL, 0 };
  apr_time_t deadline;

  apr_thread_mutex_create(&w.lock, APR_THREAD_MUTEX_DEFAULT, pool);
  apr_thread_cond_create(&w.cond, pool);
  cr_assert_null(ts_store_open_sqlite(&st, db, pool));
  ts_store_observe(st, watch_expiry, &w);
  cr_assert_null(take(st, NULL, 1, apr_time_from_msec(100)));
  deadline = apr_time_now() + apr_time_from_sec(10);
  apr_thread_mutex_lock(w.lock);
  while (!w.expired && apr_time_now() < deadline)
    apr_thread_cond_timedwait(w.cond, w.lock, deadline - apr_time_now());
  apr_thread_mutex_unlock(w.lock);
  ts_store_close(st);   /* first: its writer uses W */
  cr_assert_eq(w.expired, 1, "the lease's end went unnoticed for 10 s");
}

/* Pages of the list: every live session once, in pages of the size
 * asked for, the last page saying so. */
Test(sessions, the_list_comes_in_pages)
{
  ts_store_t *st;
  apr_array_header_t *page;
  apr_hash_t *seen = apr_hash_make(pool);
  const char *after = NULL;
  int pages = 0;
  ts_error_t *err;

  cr_assert_null(ts_store_open_sqlite(&st, db, pool));
  for (int i = 0; i < 25; i++)
    cr_assert_null(take(st, NULL, 100, apr_time_from_sec(60)));
  do {
    cr_assert_null(ts_store_list(&page, &after, st, after, 10, pool));
    cr_assert_leq(page->nelts, 10);
    for (int i = 0; i < page->nelts; i++) {
      const char *id = APR_ARRAY_IDX(page, i, ts_session_t).id;
      cr_assert_null(apr_hash_get(seen, id, APR_HASH_KEY_STRING),
                     "session %s on two pages", id);
      apr_hash_set(seen, id, APR_HASH_KEY_STRING, id);
    }
    pages++;
  } while (after);
  cr_assert_eq(apr_hash_count(seen), 25);
  cr_assert_eq(pages, 3);
  err = ts_store_list(&page, &after, st, NULL, 0, pool);
  cr_assert_eq(ts_error_code(err), TS_EINVAL, "a page of 0");
  ts_error_clear(err);
  ts_store_close(st);
}

Test(sessions, observer_hears_every_end_after_commit)
{
  ts_store_t *st;
  ts_session_t s = { NULL, "modeler", "ada", "ws1", "test", 42, 0, 0,
                     "ms1:17006" };
  const char *a;
  int n = 0;
  long used;

  heard[0] = '\0';
  cr_assert_null(ts_store_open_sqlite(&st, db, pool));
  ts_store_observe(st, observer, NULL);
  cr_assert_null(take(st, &a, 5, apr_time_from_sec(60)));
  cr_assert_null(ts_store_release(st, a, NULL, "force-release", "by alice"));
  cr_assert_null(ts_store_checkout(st, &s, TOKEN, 5, apr_time_from_sec(60),
                                   pool));
  cr_assert_null(ts_store_checkout(st, &s, TOKEN, 5, apr_time_from_sec(60),
                                   pool));
  cr_assert_null(ts_store_release_server(&n, st, "ms1:17006", "gone"));
  cr_assert_eq(n, 2);
  cr_assert_null(ts_store_count(&used, st, "modeler"));
  cr_assert_eq(used, 0, "seats of a gone model server still counted");
  cr_assert_null(take(st, NULL, 5, apr_time_from_msec(1)));
  apr_sleep(apr_time_from_msec(20));
  cr_assert_null(ts_store_count(&used, st, "modeler"));
  cr_assert_str_eq(heard, "force-release:by alice;model-server-gone:gone;"
                   "model-server-gone:gone;expiry:-;");
  ts_store_close(st);
}

Test(sessions, refused_checkout_does_not_hide_an_expired_lease)
{
  ts_store_t *st;
  long used;
  ts_error_t *err;

  /* a refusal rolls its transaction back, reclaim included: the next
   * transaction must reclaim again, not trust the undone one */
  cr_assert_null(ts_store_open_sqlite(&st, db, pool));
  cr_assert_null(take(st, NULL, 1, apr_time_from_msec(40)));
  err = take(st, NULL, 1, apr_time_from_sec(60));
  cr_assert_eq(ts_error_code(err), TS_EUNAVAIL);
  ts_error_clear(err);
  apr_sleep(apr_time_from_msec(60));
  err = take(st, NULL, 0, apr_time_from_sec(60));   /* refused: 0 seats */
  cr_assert_eq(ts_error_code(err), TS_EUNAVAIL);
  ts_error_clear(err);
  cr_assert_null(take(st, NULL, 1, apr_time_from_sec(60)),
                 "the expired seat was not reclaimed");
  cr_assert_null(ts_store_count(&used, st, "modeler"));
  cr_assert_eq(used, 1);
  ts_store_close(st);
}

/* Many threads at once: their changes are committed in groups, each a
 * savepoint of its own; a refusal undoes only itself. */
typedef struct racer_t {
  ts_store_t *st;
  int granted, refused, other;
} racer_t;

static void *APR_THREAD_FUNC
racer(apr_thread_t *thread, void *data)
{
  racer_t *r = data;
  apr_pool_t *p;

  apr_pool_create(&p, NULL);
  for (int i = 0; i < 40; i++) {
    ts_session_t s = { NULL, "modeler", "ada", "ws1", "race", i, 0, 0,
                       NULL };
    ts_error_t *err = ts_store_checkout(r->st, &s, TOKEN, 100,
                                        apr_time_from_sec(60), p);
    if (!err)
      r->granted++;
    else if (ts_error_code(err) == TS_EUNAVAIL)
      r->refused++;
    else
      r->other++;
    ts_error_clear(err);
    /* every fourth granted seat goes back at once */
    if (!err && i % 4 == 0 && ts_store_release(r->st, s.id, TOKEN,
                                               "checkin", NULL) == NULL)
      r->granted--;
  }
  apr_pool_destroy(p);
  (void)thread;
  return NULL;
}

Test(sessions, concurrent_checkouts_never_exceed_the_seats)
{
  ts_store_t *st;
  apr_thread_t *threads[16];
  racer_t racers[16];
  apr_status_t ignored;
  int granted = 0, refused = 0;
  long used;

  cr_assert_null(ts_store_open_sqlite(&st, db, pool));
  for (int i = 0; i < 16; i++) {
    racers[i] = (racer_t){ st, 0, 0, 0 };
    cr_assert_eq(apr_thread_create(&threads[i], NULL, racer, &racers[i],
                                   pool), APR_SUCCESS);
  }
  for (int i = 0; i < 16; i++) {
    apr_thread_join(&ignored, threads[i]);
    granted += racers[i].granted;
    refused += racers[i].refused;
    cr_assert_eq(racers[i].other, 0, "an error other than no seat left");
  }
  cr_assert_null(ts_store_count(&used, st, "modeler"));
  cr_assert_leq(used, 100, "more seats in use than licensed: %ld", used);
  cr_assert_eq(used, granted, "the count (%ld) is not the sessions held "
               "(%d)", used, granted);
  cr_assert_gt(refused, 0);
  ts_store_close(st);
}

typedef struct mixer_t {
  ts_store_t *st;
  int wrong;     /* results other than expected */
  int requests;  /* calls made */
} mixer_t;

/* Each round: a checkout, a check-in of a session that does not exist
 * (refused), a heartbeat and a check-in of its own: refused calls that
 * share a transaction with others must undo only themselves. */
static void *APR_THREAD_FUNC
mixer(apr_thread_t *t, void *arg)
{
  mixer_t *m = arg;
  apr_pool_t *p;

  (void)t;
  apr_pool_create(&p, NULL);
  for (int i = 0; i < 50; i++) {
    ts_session_t s = { NULL, "modeler", "ada", "ws1", "mix", i, 0, 0, NULL };
    apr_time_t expires;
    ts_error_t *err = ts_store_checkout(m->st, &s, TOKEN, 100000,
                                        apr_time_from_sec(60), p);
    m->requests++;
    m->wrong += err != NULL;
    ts_error_clear(err);
    err = ts_store_release(m->st, "0000no0such0session0000", TOKEN,
                           "checkin", NULL);
    m->requests++;
    m->wrong += !err || ts_error_code(err) != TS_ENOENT;
    ts_error_clear(err);
    err = ts_store_renew(&expires, m->st, s.id, TOKEN,
                         apr_time_from_sec(90));
    m->requests++;
    m->wrong += err != NULL || expires <= s.expires;
    ts_error_clear(err);
    err = ts_store_release(m->st, s.id, TOKEN, "checkin", NULL);
    m->requests++;
    m->wrong += err != NULL;
    ts_error_clear(err);
    apr_pool_clear(p);
  }
  apr_pool_destroy(p);
  return NULL;
}

/* Group commit: 16 threads whose calls share transactions each get their
 * own answer, every call is counted once, and nothing is left over. */
Test(sessions, calls_sharing_a_commit_get_their_own_answers)
{
  ts_store_t *st;
  apr_thread_t *threads[16];
  mixer_t mixers[16];
  apr_status_t ignored;
  apr_array_header_t *list;
  const char *next;
  apr_uint64_t commits, steps;
  int requests = 0;
  long used;

  cr_assert_null(ts_store_open_sqlite(&st, db, pool));
  for (int i = 0; i < 16; i++) {
    mixers[i] = (mixer_t){ st, 0, 0 };
    cr_assert_eq(apr_thread_create(&threads[i], NULL, mixer, &mixers[i],
                                   pool), APR_SUCCESS);
  }
  for (int i = 0; i < 16; i++) {
    apr_thread_join(&ignored, threads[i]);
    cr_assert_eq(mixers[i].wrong, 0, "thread %d: %d unexpected results", i,
                 mixers[i].wrong);
    requests += mixers[i].requests;
  }
  ts_store_stats(&commits, &steps, st);
  cr_assert_eq(steps, (apr_uint64_t)requests, "%d calls, %lu counted",
               requests, (unsigned long)steps);
  cr_assert_leq(commits, steps);
  cr_assert_null(ts_store_count(&used, st, "modeler"));
  cr_assert_eq(used, 0);
  cr_assert_null(ts_store_list(&list, &next, st, NULL, 10000, pool));
  cr_assert_eq(list->nelts, 0);
  ts_store_close(st);
}

/* A store as the first releases wrote it (rowid table with a key index,
 * an index by product, no model-server column) opens with its sessions
 * and counts, in the new form. */
Test(sessions, a_store_of_an_earlier_release_keeps_its_sessions)
{
  sqlite3 *old;
  sqlite3_stmt *q;
  ts_store_t *st;
  apr_array_header_t *list;
  const char *next;
  ts_error_t *err;
  const char *id;
  long used;
  char sql[1024];
  long long future = (long long)apr_time_now() + apr_time_from_sec(600);

  cr_assert_eq(sqlite3_open(db, &old), SQLITE_OK);
  snprintf(sql, sizeof(sql),
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE sessions (id TEXT PRIMARY KEY, product TEXT NOT NULL,"
    " user TEXT NOT NULL, host TEXT NOT NULL, application TEXT NOT NULL,"
    " pid INTEGER NOT NULL, started INTEGER NOT NULL,"
    " expires INTEGER NOT NULL);"
    "CREATE INDEX sessions_product ON sessions(product);"
    "CREATE INDEX sessions_expires ON sessions(expires);"
    "CREATE TABLE usage (product TEXT PRIMARY KEY, used INTEGER NOT NULL);"
    "INSERT INTO sessions VALUES ('a1', 'modeler', 'ada', 'ws1', 'old', 1,"
    " 0, %lld), ('b2', 'modeler', 'bob', 'ws2', 'old', 2, 0, %lld);"
    "INSERT INTO usage VALUES ('modeler', 2);", future, future);
  cr_assert_eq(sqlite3_exec(old, sql, NULL, NULL, NULL), SQLITE_OK, "%s",
               sqlite3_errmsg(old));
  sqlite3_close(old);

  err = ts_store_open_sqlite(&st, db, pool);
  cr_assert_null(err, "%s", err ? ts_error_text(err, pool) : "");
  cr_assert_null(ts_store_list(&list, &next, st, NULL, 10000, pool));
  cr_assert_eq(list->nelts, 2);
  cr_assert_null(ts_store_count(&used, st, "modeler"));
  cr_assert_eq(used, 2);
  cr_assert_null(take(st, &id, 3, apr_time_from_sec(60)));
  err = take(st, NULL, 3, apr_time_from_sec(60));
  cr_assert_not_null(err, "3 seats: the 2 kept sessions count");
  cr_assert_eq(ts_error_code(err), TS_EUNAVAIL);
  ts_error_clear(err);
  /* no holder of an earlier release got a token: its sessions end with
   * their lease or by the administrator */
  err = ts_store_release(st, "a1", TOKEN, "checkin", NULL);
  cr_assert_eq(ts_error_code(err), TS_ENOENT, "a token matched NULL");
  ts_error_clear(err);
  cr_assert_null(ts_store_release(st, "a1", NULL, "force-release", NULL));
  ts_store_close(st);

  cr_assert_eq(sqlite3_open(db, &old), SQLITE_OK);
  cr_assert_eq(sqlite3_prepare_v2(old, "SELECT rowid FROM sessions", -1, &q,
                                  NULL), SQLITE_ERROR,
               "the sessions table is WITHOUT ROWID now");
  cr_assert_eq(sqlite3_prepare_v2(old, "SELECT COUNT(*) FROM sqlite_master "
                                  "WHERE name = 'sessions_product'", -1, &q,
                                  NULL), SQLITE_OK);
  cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
  cr_assert_eq(sqlite3_column_int(q, 0), 0, "the product index is gone");
  sqlite3_finalize(q);
  sqlite3_close(old);
}

/* The previous release's form (WITHOUT ROWID, the model-server column, no
 * token column) gains the token column; its sessions stay. */
Test(sessions, the_previous_release_gains_the_token_column)
{
  sqlite3 *old;
  ts_store_t *st;
  const char *id;
  long used;
  ts_error_t *err;
  char sql[1024];
  long long future = (long long)apr_time_now() + apr_time_from_sec(600);

  cr_assert_eq(sqlite3_open(db, &old), SQLITE_OK);
  snprintf(sql, sizeof(sql),
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE sessions (id TEXT PRIMARY KEY, product TEXT NOT NULL,"
    " user TEXT NOT NULL, host TEXT NOT NULL, application TEXT NOT NULL,"
    " pid INTEGER NOT NULL, started INTEGER NOT NULL,"
    " expires INTEGER NOT NULL, server TEXT) WITHOUT ROWID;"
    "CREATE TABLE usage (product TEXT PRIMARY KEY, used INTEGER NOT NULL);"
    "INSERT INTO sessions VALUES ('c3', 'modeler', 'cy', 'ws3', 'old', 3,"
    " 0, %lld, 'ms1:17006');", future);
  cr_assert_eq(sqlite3_exec(old, sql, NULL, NULL, NULL), SQLITE_OK, "%s",
               sqlite3_errmsg(old));
  sqlite3_close(old);

  err = ts_store_open_sqlite(&st, db, pool);
  cr_assert_null(err, "%s", err ? ts_error_text(err, pool) : "");
  cr_assert_null(ts_store_count(&used, st, "modeler"));
  cr_assert_eq(used, 1);
  cr_assert_null(take(st, &id, 5, apr_time_from_sec(60)));
  cr_assert_null(ts_store_release(st, id, TOKEN, "checkin", NULL),
                 "a new session is its holder's");
  err = ts_store_release(st, "c3", TOKEN, "checkin", NULL);
  cr_assert_eq(ts_error_code(err), TS_ENOENT);
  ts_error_clear(err);
  cr_assert_null(ts_store_release_server(&(int){ 0 }, st, "ms1:17006",
                                         NULL));
  cr_assert_null(ts_store_count(&used, st, "modeler"));
  cr_assert_eq(used, 0);
  ts_store_close(st);
}

/* Sessions belong to their holder: a renewal or check-in with another
 * token is refused in the words used for an unknown session, and changes
 * nothing; the administrator needs no token. */
Test(sessions, only_the_holder_renews_or_checks_in)
{
  ts_store_t *st;
  const char *a, *wrong, *unknown;
  apr_time_t expires;
  long used;
  ts_error_t *err;

  cr_assert_null(ts_store_open_sqlite(&st, db, pool));
  cr_assert_null(take(st, &a, 5, apr_time_from_sec(60)));
  err = ts_store_renew(&expires, st, a, "someone else's",
                       apr_time_from_sec(60));
  cr_assert_eq(ts_error_code(err), TS_ENOENT);
  wrong = apr_pstrdup(pool, ts_error_text(err, pool));
  ts_error_clear(err);
  err = ts_store_release(st, "0123456789abcdef01234567", TOKEN, "checkin",
                         NULL);
  cr_assert_eq(ts_error_code(err), TS_ENOENT);
  unknown = apr_pstrdup(pool, ts_error_text(err, pool));
  ts_error_clear(err);
  /* the same words, but for the id */
  cr_assert_str_eq(strstr(wrong, a) + strlen(a),
                   strstr(unknown, "01234567 ") + 8);
  err = ts_store_release(st, a, "someone else's", "checkin", NULL);
  cr_assert_eq(ts_error_code(err), TS_ENOENT);
  cr_assert_str_eq(ts_error_text(err, pool), wrong);
  ts_error_clear(err);
  cr_assert_null(ts_store_count(&used, st, "modeler"));
  cr_assert_eq(used, 1, "a stranger checked the seat in");
  cr_assert_null(ts_store_renew(&expires, st, a, TOKEN,
                                apr_time_from_sec(60)));
  cr_assert_null(ts_store_release(st, a, NULL, "force-release", NULL));
  cr_assert_null(ts_store_count(&used, st, "modeler"));
  cr_assert_eq(used, 0);
  ts_store_close(st);
}

/* ---- a batch that fails (issue 16) ---------------------------------------
 * Every operation of a failed batch gets the store's error, its text for
 * people as well as its English: a license server answers its clients in
 * their language, and the copy must not fall back to English. */

static ts_error_t *
failing_batch(void *impl, ts_store_op_t **ops, int n, apr_time_t now,
              apr_array_header_t *ended, apr_time_t *next_expiry,
              apr_pool_t *scratch)
{
  ts_error_t *err = ts_error_createf(TS_EIO, "the disk is gone");

  (void)impl;
  (void)ops;
  (void)n;
  (void)now;
  (void)ended;
  (void)next_expiry;
  (void)scratch;
  err->local = apr_pstrdup(err->pool, "die Platte ist weg");  /* as ts_i18n */
  return err;
}

static ts_error_t *
no_list(apr_array_header_t **sessions, void *impl, const char *after,
        int limit, apr_time_t now, apr_pool_t *p)
{
  (void)sessions;
  (void)impl;
  (void)after;
  (void)limit;
  (void)now;
  (void)p;
  return ts_error_createf(TS_EINTERNAL, "not listed");
}

static void
no_close(void *impl)
{
  (void)impl;
}

Test(sessions, a_failed_batch_keeps_the_text_for_people)
{
  static const ts_store_impl_t failing = { "failing", failing_batch, no_list,
                                           no_close };
  ts_store_t *st;
  ts_error_t *err;

  cr_assert_null(ts_store_create(&st, &failing, NULL, pool));
  err = take(st, NULL, 1, apr_time_from_sec(60));
  cr_assert_not_null(err);
  cr_assert_eq(ts_error_code(err), TS_EIO);
  cr_assert_str_eq(ts_error_text(err, pool), "the disk is gone");
  cr_assert_str_eq(ts_error_message(err, pool), "die Platte ist weg");
  ts_error_clear(err);
  ts_store_close(st);
}
