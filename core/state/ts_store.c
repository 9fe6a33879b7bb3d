/* ts_store.c: the seat store's writer (see ts_store.h): the queue of
 * operations, the thread that hands every waiting operation to the
 * implementation as one batch, and the blocking shorthands.
 *
 * Why a writer thread: a commit costs far more than the statements of one
 * change (the WAL write and file locks for SQLite, a round trip to the
 * majority for etcd), so changes that arrive together share one. Callers
 * only queue; the writer takes the whole queue, the implementation runs
 * it as one transaction, and the writer tells each caller after the
 * commit. With the HTTP request suspended meanwhile, no server thread
 * waits for the disk: a few threads serve any number of clients, and the
 * batch grows with the load instead of the thread count.
 */
#include "ts_store.h"
#include "ts_text.h"

#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

/* The most operations in one transaction: enough to carry any burst
 * (1000 clients at once), small enough to bound a commit's time. */
#define MAX_BATCH 1024

/* After a failed batch (disk full, ...) reclaiming is tried again this
 * late, not in a loop. */
#define RETRY_AFTER apr_time_from_sec(1)

struct ts_store_t {
  const ts_store_impl_t *impl;
  void *impl_baton;
  apr_thread_mutex_t *lock;      /* everything below */
  apr_thread_cond_t *wake;       /* work queued, or closing */
  ts_store_op_t *head, *tail;
  int closing, closed;
  apr_time_t next_expiry;        /* reclaim on its own from then on */
  apr_uint64_t commits, ops;
  ts_store_observer_t observer;
  void *observer_baton;
  apr_thread_t *writer;
  apr_pool_t *pool;
};

/* OP fails with ERR. */
static void
fail_op(ts_store_op_t *op, ts_error_t *err)
{
  op->err = err;
  if (op->done)
    op->done(op, op->baton);
}

/* Give each operation of a failed batch its own copy of ERR: its text for
 * the log and its text for people (ts_error_message), each whole. */
static void
fail_batch(ts_store_op_t **ops, int n, const ts_error_t *err,
           apr_pool_t *scratch)
{
  const char *text = ts_error_text(err, scratch);
  const char *local = ts_error_message(err, scratch);

  for (int i = 0; i < n; i++) {
    ts_error_clear(ops[i]->err);
    ops[i]->err = ts_error_create_texts(ts_error_code(err), text, local);
  }
}

/* One batch: OPS (N) in one transaction, then the observer, then each
 * caller. Runs outside the store's lock. */
static apr_time_t
run_batch(ts_store_t *st, ts_store_op_t **ops, int n, apr_pool_t *scratch)
{
  apr_array_header_t *ended = apr_array_make(scratch, 4,
                                             sizeof(ts_store_ended_t));
  apr_time_t now = apr_time_now(), next = APR_INT64_MAX;
  ts_error_t *err;
  int failed;

  err = st->impl->batch(st->impl_baton, ops, n, now, ended, &next, scratch);
  failed = err != NULL;
  if (failed) {
    fail_batch(ops, n, err, scratch);
    ts_error_clear(err);
    next = now + RETRY_AFTER;
  }
  /* counted before anyone is told: a caller that reads the stats after
   * its answer sees its own operation counted */
  apr_thread_mutex_lock(st->lock);
  st->commits++;
  st->ops += (apr_uint64_t)n;
  apr_thread_mutex_unlock(st->lock);
  if (!failed && st->observer)
    for (int i = 0; i < ended->nelts; i++) {
      const ts_store_ended_t *e = &APR_ARRAY_IDX(ended, i,
                                                 ts_store_ended_t);
      st->observer(st->observer_baton, e->event, &e->session, e->detail);
    }
  for (int i = 0; i < n; i++)
    if (ops[i]->done)
      ops[i]->done(ops[i], ops[i]->baton);   /* OPS[i] may be gone now */
  return next;
}

static void *APR_THREAD_FUNC
writer(apr_thread_t *thread, void *data)
{
  ts_store_t *st = data;
  ts_store_op_t **ops;
  apr_pool_t *own, *scratch;

  apr_pool_create(&own, NULL);          /* this thread's alone */
  apr_pool_create(&scratch, own);
  ops = apr_palloc(own, MAX_BATCH * sizeof(*ops));
  apr_thread_mutex_lock(st->lock);
  for (;;) {
    apr_time_t now = apr_time_now(), next;
    int n = 0;
    if (!st->head && !st->closing) {
      if (now < st->next_expiry) {
        if (st->next_expiry == APR_INT64_MAX)
          apr_thread_cond_wait(st->wake, st->lock);
        else
          apr_thread_cond_timedwait(st->wake, st->lock,
                                    st->next_expiry - now);
        continue;
      }
    }
    if (!st->head && st->closing)
      break;
    while (st->head && n < MAX_BATCH) {
      ops[n++] = st->head;
      st->head = st->head->next;
    }
    if (!st->head)
      st->tail = NULL;
    apr_thread_mutex_unlock(st->lock);

    /* n == 0: no operation, only leases to reclaim */
    apr_pool_clear(scratch);
    next = run_batch(st, ops, n, scratch);

    apr_thread_mutex_lock(st->lock);
    st->next_expiry = next;
  }
  apr_thread_mutex_unlock(st->lock);
  apr_pool_destroy(own);
  (void)thread;   /* returns: apr_thread_exit()'s unwinding upsets ASan */
  return NULL;
}

ts_error_t *
ts_store_create(ts_store_t **store, const ts_store_impl_t *impl,
                void *impl_baton, apr_pool_t *pool)
{
  ts_store_t *st = apr_pcalloc(pool, sizeof(*st));
  apr_status_t s;

  st->impl = impl;
  st->impl_baton = impl_baton;
  st->pool = pool;
  st->next_expiry = 0;   /* reclaim once at start */
  apr_thread_mutex_create(&st->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  apr_thread_cond_create(&st->wake, pool);
  s = apr_thread_create(&st->writer, NULL, writer, st, pool);
  if (s) {
    impl->close(impl_baton);
    return ts_error_aprf(s, "cannot start the seat store's writer thread");
  }
  *store = st;
  return NULL;
}

void
ts_store_close(ts_store_t *st)
{
  apr_status_t ignored;

  if (!st || st->closed)
    return;
  apr_thread_mutex_lock(st->lock);
  st->closing = 1;
  apr_thread_cond_signal(st->wake);
  apr_thread_mutex_unlock(st->lock);
  apr_thread_join(&ignored, st->writer);
  st->impl->close(st->impl_baton);
  st->closed = 1;
}

/* 12 random bytes in hex: unguessable, so an id cannot be found by
 * trying. */
static ts_error_t *
new_id(const char **id, apr_pool_t *pool)
{
  TS_ERR_W(ts_random_hex(id, 12, pool), "cannot get random bytes for a "
           "session id");
  return NULL;
}

void
ts_store_submit(ts_store_t *st, ts_store_op_t *op, apr_pool_t *pool)
{
  op->err = NULL;
  op->next = NULL;
  if (op->kind == TS_STORE_CHECKOUT) {
    ts_error_t *err = new_id(&op->session.id, pool);
    if (err) {
      op->err = err;
      if (op->done)
        op->done(op, op->baton);
      return;
    }
    op->session.started = apr_time_now();
    op->session.expires = op->session.started + op->lease;
  }
  apr_thread_mutex_lock(st->lock);
  if (st->closing) {
    apr_thread_mutex_unlock(st->lock);
    fail_op(op, ts_error_createf(TS_EUNAVAIL, "the seat store is closed: the "
                                 "license server is stopping; try again "
                                 "once it has started"));
    return;
  }
  if (st->tail)
    st->tail->next = op;
  else
    st->head = op;
  st->tail = op;
  apr_thread_cond_signal(st->wake);
  apr_thread_mutex_unlock(st->lock);
}

/* ts_store_run's wait for one operation. */
typedef struct waiter_t {
  apr_thread_mutex_t *lock;
  apr_thread_cond_t *cond;
  int done;
} waiter_t;

static void
wake_waiter(ts_store_op_t *op, void *baton)
{
  waiter_t *w = baton;

  (void)op;
  apr_thread_mutex_lock(w->lock);
  w->done = 1;
  apr_thread_cond_signal(w->cond);
  apr_thread_mutex_unlock(w->lock);
}

ts_error_t *
ts_store_run(ts_store_t *st, ts_store_op_t *op, apr_pool_t *pool)
{
  waiter_t w = { NULL, NULL, 0 };
  apr_pool_t *wpool;

  apr_pool_create(&wpool, pool);
  apr_thread_mutex_create(&w.lock, APR_THREAD_MUTEX_DEFAULT, wpool);
  apr_thread_cond_create(&w.cond, wpool);
  op->done = wake_waiter;
  op->baton = &w;
  ts_store_submit(st, op, pool);
  apr_thread_mutex_lock(w.lock);
  while (!w.done)
    apr_thread_cond_wait(w.cond, w.lock);
  apr_thread_mutex_unlock(w.lock);
  apr_pool_destroy(wpool);
  op->done = NULL;
  return op->err;
}

/* ts_store_run with a pool of its own (the operation allocates nothing
 * the caller keeps). */
static ts_error_t *
run_own(ts_store_t *st, ts_store_op_t *op)
{
  apr_pool_t *pool;
  ts_error_t *err;

  apr_pool_create(&pool, NULL);
  err = ts_store_run(st, op, pool);
  apr_pool_destroy(pool);
  return err;
}

ts_error_t *
ts_store_checkout(ts_store_t *st, ts_session_t *s, const char *token,
                  long seats, apr_interval_time_t lease, apr_pool_t *pool)
{
  ts_store_op_t op = { 0 };

  op.kind = TS_STORE_CHECKOUT;
  op.session = *s;
  op.token = token;
  op.seats = seats;
  op.lease = lease;
  TS_ERR(ts_store_run(st, &op, pool));
  *s = op.session;
  return NULL;
}

ts_error_t *
ts_store_renew(apr_time_t *expires, ts_store_t *st, const char *id,
               const char *token, apr_interval_time_t lease)
{
  ts_store_op_t op = { 0 };
  ts_error_t *err;

  op.kind = TS_STORE_RENEW;
  op.id = id;
  op.token = token;
  op.lease = lease;
  err = run_own(st, &op);
  *expires = op.expires;
  return err;
}

ts_error_t *
ts_store_release(ts_store_t *st, const char *id, const char *token,
                 const char *event, const void *detail)
{
  ts_store_op_t op = { 0 };
  ts_error_t *err;

  op.kind = TS_STORE_RELEASE;
  op.id = id;
  op.token = token;
  op.administrator = token == NULL;
  op.event = event;
  op.detail = detail;
  err = run_own(st, &op);
  return err;
}

ts_error_t *
ts_store_release_server(int *released, ts_store_t *st, const char *server,
                        const void *detail)
{
  ts_store_op_t op = { 0 };
  ts_error_t *err;

  op.kind = TS_STORE_RELEASE_SERVER;
  op.server = server;
  op.detail = detail;
  err = run_own(st, &op);
  *released = op.released;
  return err;
}

ts_error_t *
ts_store_count(long *used, ts_store_t *st, const char *product)
{
  ts_store_op_t op = { 0 };
  ts_error_t *err;

  op.kind = TS_STORE_COUNT;
  op.session.product = product;
  err = run_own(st, &op);
  *used = op.used;
  return err;
}

ts_error_t *
ts_store_list(apr_array_header_t **sessions, const char **next,
              ts_store_t *st, const char *after, int limit,
              apr_pool_t *pool)
{
  apr_array_header_t *page;

  if (limit < 1 || limit > 10000)
    return ts_error_createf(TS_EINVAL, "a page of sessions holds 1 to 10000, "
                            "not %d", limit);
  TS_ERR(st->impl->list(&page, st->impl_baton, after, limit,
                        apr_time_now(), pool));
  *sessions = page;
  *next = page->nelts == limit
          ? APR_ARRAY_IDX(page, page->nelts - 1, ts_session_t).id : NULL;
  return NULL;
}

void
ts_store_observe(ts_store_t *st, ts_store_observer_t observer, void *baton)
{
  apr_thread_mutex_lock(st->lock);
  st->observer = observer;
  st->observer_baton = baton;
  apr_thread_mutex_unlock(st->lock);
}

void
ts_store_stats(apr_uint64_t *commits, apr_uint64_t *ops, ts_store_t *st)
{
  apr_thread_mutex_lock(st->lock);
  *commits = st->commits;
  *ops = st->ops;
  apr_thread_mutex_unlock(st->lock);
}
