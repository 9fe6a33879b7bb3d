/* ts_store.h: the seat store: license seats handed out as sessions with
 * leases (SPEC §3).
 *
 * A client checks out a seat of a product and gets a session whose lease
 * it renews with heartbeats; a check-in frees the seat; a lease that runs
 * out frees it too (reclaimed before seats are counted, and on its own
 * when the store is idle, so a seat is never counted twice and never
 * lost). Never more sessions than seats: a checkout's count and insert
 * are one transaction.
 *
 * Batches. Every change is an operation (ts_store_op_t) handed to the
 * store's writer thread. The writer takes every operation waiting at that
 * moment and runs them as ONE transaction of the implementation, each
 * isolated (a refused one undoes only itself), then commits, then tells
 * each operation's caller through its done callback. Nothing is told
 * before its commit. A caller never blocks a thread of its own while it
 * waits: the license server suspends the HTTP request and resumes it from
 * the callback. ts_store_run() is the blocking form for callers that have
 * a thread to spare (tests, the prober, the admin's force-release path).
 *
 * Implementations (ts_store_impl_t) only apply batches and read pages:
 * SQLite in INOLIC/sessions.db (ts_store_sqlite.c); twin mode adds etcd,
 * where a batch is one etcd transaction. The roles see only this header.
 *
 * Threads: every function may be called from any thread. Done callbacks
 * and the observer run on the writer thread, after the commit, outside
 * any lock of the store; they must be quick and must not wait for the
 * store (ts_store_run from there would wait for itself).
 */
#ifndef TS_STORE_H
#define TS_STORE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "ts_error.h"

typedef struct ts_store_t ts_store_t;

typedef struct ts_session_t {
  const char *id;
  const char *product, *user, *host, *application;
  long pid;
  apr_time_t started, expires;
  const char *server;         /* the model server it is used with, or NULL */
} ts_session_t;

typedef enum ts_store_kind_t {
  TS_STORE_CHECKOUT,          /* session, token, seats, lease -> session.id
                                 etc. */
  TS_STORE_RENEW,             /* id, token, lease -> expires */
  TS_STORE_RELEASE,           /* id, token or administrator, event
                                 ("checkin", "force-release"), detail */
  TS_STORE_RELEASE_SERVER,    /* server, detail -> released */
  TS_STORE_COUNT              /* session.product -> used */
} ts_store_kind_t;

/* One operation. The caller owns it (and every string it points to) until
 * DONE has been called; the store writes only the results. */
typedef struct ts_store_op_t {
  ts_store_kind_t kind;
  ts_session_t session;       /* CHECKOUT: in (product, user, ...) and out
                                 (id, started, expires); COUNT: product */
  long seats;                 /* CHECKOUT: licensed seats of the product */
  apr_interval_time_t lease;  /* CHECKOUT, RENEW */
  const char *id;             /* RENEW, RELEASE */
  /* Sessions belong to their holder. CHECKOUT: the hash of the token the
   * holder gets (the store keeps only the hash); RENEW, RELEASE: the hash
   * of the token the request presented, which must be the session's, or
   * the operation fails with TS_ENOENT exactly as for an unknown id (ids
   * are shown to others, tokens are not). NULL never matches. */
  const char *token;
  int administrator;          /* RELEASE: the administrator's
                                 force-release, which needs no token */
  const char *event;          /* RELEASE: "checkin" or "force-release" */
  const void *detail;         /* RELEASE, RELEASE_SERVER: for the observer */
  const char *server;         /* RELEASE_SERVER */

  apr_time_t expires;         /* RENEW: the new end of the lease */
  int released;               /* RELEASE_SERVER: sessions ended */
  long used;                  /* COUNT: seats in use */
  ts_error_t *err;            /* NULL, or why: TS_EUNAVAIL no seat left,
                                 TS_ENOENT unknown session, TS_EIO ... */

  /* Called once, on the writer thread, after the commit (or the failure)
   * of the operation's batch. */
  void (*done)(struct ts_store_op_t *op, void *baton);
  void *baton;

  struct ts_store_op_t *next; /* the store's */
} ts_store_op_t;

/* Told of every session that ends, after its transaction committed, with
 * EVENT "checkin", "force-release", "expiry" or "model-server-gone" and
 * the DETAIL the operation carried (NULL for expiry). */
typedef void (*ts_store_observer_t)(void *baton, const char *event,
                                    const ts_session_t *session,
                                    const void *detail);

/* What a store implementation provides. */
typedef struct ts_store_impl_t {
  const char *name;           /* "sqlite" */
  /* Apply OPS (N, in order) in one transaction: first reclaim the leases
   * that ended before NOW, then each operation isolated from the others
   * (its refusal, in OP->err, undoes only its own changes), then commit.
   * Append every session that ended (ts_store_ended_t) to ENDED, in
   * SCRATCH. *NEXT_EXPIRY: the earliest lease end still open
   * (APR_INT64_MAX when none). An error means the whole batch failed and
   * nothing of it happened. */
  ts_error_t *(*batch)(void *impl, ts_store_op_t **ops, int n,
                       apr_time_t now, apr_array_header_t *ended,
                       apr_time_t *next_expiry, apr_pool_t *scratch);
  /* A page of the live sessions in the order of their ids, after AFTER
   * (NULL: from the start), at most LIMIT; read without waiting for the
   * writer. */
  ts_error_t *(*list)(apr_array_header_t **sessions, void *impl,
                      const char *after, int limit, apr_time_t now,
                      apr_pool_t *pool);
  void (*close)(void *impl);
} ts_store_impl_t;

typedef struct ts_store_ended_t {
  const char *event;
  const void *detail;
  ts_session_t session;
} ts_store_ended_t;

/* Run IMPL (with its state IMPL_BATON) behind the interface: starts the
 * writer thread. The store lives in POOL; close it before POOL goes. */
ts_error_t *ts_store_create(ts_store_t **store, const ts_store_impl_t *impl,
                            void *impl_baton, apr_pool_t *pool);

/* The SQLite store in the file PATH (created if missing; a store of an
 * earlier release is converted in one transaction; its sessions have no
 * token hash, so their holders cannot renew or check them in: they end
 * with their lease, or by the administrator's force-release). */
ts_error_t *ts_store_open_sqlite(ts_store_t **store, const char *path,
                                 apr_pool_t *pool);

/* Finish every operation handed in, stop the writer, close the
 * implementation. Operations submitted afterwards fail (TS_EUNAVAIL). */
void ts_store_close(ts_store_t *store);

/* Hand OP to the writer; OP->done tells the result. A CHECKOUT gets its
 * id, start and lease end here, in the caller's thread, from POOL. */
void ts_store_submit(ts_store_t *store, ts_store_op_t *op, apr_pool_t *pool);

/* Submit OP and wait for its commit; returns OP->err (the caller then
 * owns it). OP->done must be NULL. Never from a done callback or the
 * observer. */
ts_error_t *ts_store_run(ts_store_t *store, ts_store_op_t *op,
                         apr_pool_t *pool);

/* Blocking shorthands over ts_store_run. TOKEN is the hash of the
 * holder's token (see ts_store_op_t); for ts_store_release NULL means the
 * administrator's force-release. */
ts_error_t *ts_store_checkout(ts_store_t *store, ts_session_t *s,
                              const char *token, long seats,
                              apr_interval_time_t lease, apr_pool_t *pool);
ts_error_t *ts_store_renew(apr_time_t *expires, ts_store_t *store,
                           const char *id, const char *token,
                           apr_interval_time_t lease);
ts_error_t *ts_store_release(ts_store_t *store, const char *id,
                             const char *token, const char *event,
                             const void *detail);
ts_error_t *ts_store_release_server(int *released, ts_store_t *store,
                                    const char *server, const void *detail);
ts_error_t *ts_store_count(long *used, ts_store_t *store,
                           const char *product);

/* A page of the live sessions (ts_session_t) in the order of their ids,
 * after the session AFTER (NULL: the first page), at most LIMIT
 * (1..10000). *NEXT: the id to continue after, or NULL on the last page.
 * A session that starts while one pages may fall before the cursor: a
 * listing is not a snapshot. */
ts_error_t *ts_store_list(apr_array_header_t **sessions, const char **next,
                          ts_store_t *store, const char *after, int limit,
                          apr_pool_t *pool);

void ts_store_observe(ts_store_t *store, ts_store_observer_t observer,
                      void *baton);

/* Transactions committed (or failed), and the operations they carried:
 * OPS / COMMITS is the mean batch. */
void ts_store_stats(apr_uint64_t *commits, apr_uint64_t *ops,
                    ts_store_t *store);

#endif
