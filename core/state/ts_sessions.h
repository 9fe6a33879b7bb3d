/* ts_sessions.h: license seats handed out as sessions with leases.
 *
 * A client checks out a seat of a product and gets a session whose lease
 * it renews with heartbeats; a check-in frees the seat; a lease that runs
 * out frees it too (reclaimed before every count, so a seat is never
 * counted twice and never lost). Never more sessions than seats: the count
 * and the insert happen in one write transaction.
 *
 * The state is kept in SQLite (WAL, synchronous=NORMAL) in INOLIC, so every
 * acknowledged checkout survives a crash of the server, kill -9 included.
 * Calls from many threads are safe; those that arrive together share one
 * commit (group commit), and each returns only after its commit.
 * Twin mode will put the same state into etcd behind this interface.
 */
#ifndef TS_SESSIONS_H
#define TS_SESSIONS_H

#include <apr_tables.h>
#include <apr_time.h>
#include "ts_error.h"

typedef struct ts_sessions_t ts_sessions_t;

typedef struct ts_session_t {
  const char *id;
  const char *product, *user, *host, *application;
  long pid;
  apr_time_t started, expires;
  const char *server;         /* the model server it is used with, or NULL */
} ts_session_t;

/* Told of every session that ends, after its transaction committed, with
 * EVENT "checkin", "force-release", "expiry" or "model-server-gone" and
 * the DETAIL the caller passed (or NULL). Runs under the store's lock: it
 * must not call the store. */
typedef void (*ts_sessions_observer_t)(void *baton, const char *event,
                                       const ts_session_t *session,
                                       const void *detail);

/* Open (create) the store in the file PATH. */
ts_error_t *ts_sessions_open(ts_sessions_t **store, const char *path,
                             apr_pool_t *pool);
void ts_sessions_close(ts_sessions_t *store);

/* Check out a seat of S->product, of which SEATS are licensed, with a
 * lease of LEASE. On success S->id, started and expires are set. No seat
 * left is an error with code TS_EUNAVAIL. */
ts_error_t *ts_sessions_checkout(ts_sessions_t *store, ts_session_t *s,
                                 long seats, apr_interval_time_t lease,
                                 apr_pool_t *pool);

/* Renew session ID's lease; *EXPIRES gets the new end. Unknown or expired
 * sessions are TS_ENOENT. */
ts_error_t *ts_sessions_renew(apr_time_t *expires, ts_sessions_t *store,
                              const char *id, apr_interval_time_t lease);

/* Free session ID; EVENT "checkin" or "force-release" and DETAIL go to
 * the observer. Unknown: TS_ENOENT. */
ts_error_t *ts_sessions_release(ts_sessions_t *store, const char *id,
                                const char *event, const void *detail);

/* Free every session used with model server SERVER (it is gone; DETAIL
 * goes to the observer); *RELEASED gets how many. */
ts_error_t *ts_sessions_release_server(int *released, ts_sessions_t *store,
                                       const char *server,
                                       const void *detail);

void ts_sessions_observe(ts_sessions_t *store,
                         ts_sessions_observer_t observer, void *baton);

/* The live sessions (after reclaiming expired ones). */
ts_error_t *ts_sessions_list(apr_array_header_t **sessions,
                             ts_sessions_t *store, apr_pool_t *pool);

/* Seats in use of PRODUCT. */
ts_error_t *ts_sessions_count(long *used, ts_sessions_t *store,
                              const char *product);

/* Transactions run, and the requests they carried (reads and refused
 * ones included): group commit puts the requests that arrive together
 * into one transaction, so STEPS / COMMITS is the mean batch. */
void ts_sessions_stats(apr_uint64_t *commits, apr_uint64_t *steps,
                       ts_sessions_t *store);

#endif
