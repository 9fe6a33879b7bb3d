/* ts_sessions.c: the session store in SQLite (see ts_sessions.h).
 *
 * One connection, used under a mutex: the server's HTTP threads take
 * turns, and every change is one IMMEDIATE transaction that reclaims
 * expired leases, counts and writes. The seats in use per product are
 * kept in a table of their own, changed in the same transactions, so a
 * checkout costs the same with 10 or 100000 open sessions. WAL with
 * synchronous=NORMAL: a commit is in the log before the client is told,
 * so it survives a crash of the server (kill -9); only an OS crash or
 * power loss could undo the last commits, and never corrupts the store.
 */
#include "ts_sessions.h"

#include <string.h>
#include <apr_general.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <sqlite3.h>

/* A session that ended inside a transaction, reported after the commit. */
typedef struct ended_t {
  const char *event;
  const void *detail;
  ts_session_t s;
} ended_t;

struct ts_sessions_t {
  sqlite3 *db;
  const char *path;
  apr_thread_mutex_t *lock;     /* the connection, held by a batch */
  apr_thread_mutex_t *qlock;    /* the queue of steps below */
  apr_thread_cond_t *qcond;     /* a batch ended */
  struct txn_req_t *head, *tail;
  int leading;                  /* a caller runs a batch now */
  apr_uint64_t commits, changes; /* under LOCK: transactions, requests */
  ts_sessions_observer_t observer;
  void *observer_baton;
  apr_pool_t *txn_pool;         /* cleared at the start of a transaction */
  apr_hash_t *stmts;            /* SQL text -> prepared statement */
  apr_time_t earliest;          /* no lease ends before this */
  apr_pool_t *pool;
  apr_array_header_t *ended;    /* of ended_t, in TXN_POOL */
};

#define COLUMNS "id, product, user, host, application, pid, started, " \
                "expires, server"

/* A row of COLUMNS into S. */
static void
read_row(ts_session_t *s, sqlite3_stmt *q, apr_pool_t *pool)
{
#define COL(i) apr_pstrdup(pool, (const char *)sqlite3_column_text(q, i))
  s->id = COL(0);
  s->product = COL(1);
  s->user = COL(2);
  s->host = COL(3);
  s->application = COL(4);
  s->server = sqlite3_column_type(q, 8) == SQLITE_NULL ? NULL : COL(8);
#undef COL
  s->pid = (long)sqlite3_column_int64(q, 5);
  s->started = sqlite3_column_int64(q, 6);
  s->expires = sqlite3_column_int64(q, 7);
}

static ts_error_t *
db_error(ts_sessions_t *st, int rc, const char *what)
{
  return ts_error_createf(TS_EIO, "%s in %s failed: %s (SQLite %d)", what,
                          st->path, sqlite3_errmsg(st->db), rc);
}

/* The prepared statement for SQL: the same few statements run for every
 * request, so each is prepared once and kept; done() readies it again. */
static int
prepare(sqlite3_stmt **q, ts_sessions_t *st, const char *sql)
{
  int rc;

  *q = apr_hash_get(st->stmts, sql, APR_HASH_KEY_STRING);
  if (*q)
    return SQLITE_OK;
  rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, q,
                          NULL);
  if (rc == SQLITE_OK)
    apr_hash_set(st->stmts, apr_pstrdup(st->pool, sql), APR_HASH_KEY_STRING,
                 *q);
  return rc;
}

static void
done(sqlite3_stmt *q)
{
  sqlite3_reset(q);
  sqlite3_clear_bindings(q);
}

static ts_error_t *
exec(ts_sessions_t *st, const char *sql)
{
  int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

  return rc == SQLITE_OK ? NULL : db_error(st, rc, sql);
}

/* Stores of earlier releases: the first lacks the model-server column;
 * both kept the sessions in a rowid table with a separate key index and
 * had an index by product. Rebuilt in one transaction: a crash leaves
 * the old or the new form. */
static ts_error_t *
upgrade(ts_sessions_t *st)
{
  sqlite3_stmt *q;
  ts_error_t *err;
  int rowid;

  if (sqlite3_exec(st->db, "SELECT server FROM sessions LIMIT 0", NULL, NULL,
                   NULL) != SQLITE_OK)
    TS_ERR(exec(st, "ALTER TABLE sessions ADD COLUMN server TEXT"));
  if (sqlite3_prepare_v2(st->db, "SELECT rowid FROM sessions LIMIT 0", -1,
                         &q, NULL) == SQLITE_OK) {
    rowid = 1;
    sqlite3_finalize(q);
  }
  else
    rowid = 0;
  if (!rowid)
    return NULL;
  err = exec(st, "BEGIN IMMEDIATE;"
    " CREATE TABLE sessions_new (id TEXT PRIMARY KEY, product TEXT NOT NULL,"
    "  user TEXT NOT NULL, host TEXT NOT NULL, application TEXT NOT NULL,"
    "  pid INTEGER NOT NULL, started INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL, server TEXT) WITHOUT ROWID;"
    " INSERT INTO sessions_new SELECT " COLUMNS " FROM sessions;"
    " DROP TABLE sessions;"
    " ALTER TABLE sessions_new RENAME TO sessions;"
    " COMMIT");
  if (err)
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
  return err;
}

ts_error_t *
ts_sessions_open(ts_sessions_t **store, const char *path, apr_pool_t *pool)
{
  ts_sessions_t *st = apr_pcalloc(pool, sizeof(*st));
  int rc;

  st->path = apr_pstrdup(pool, path);
  rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE
                       | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
  if (rc != SQLITE_OK) {
    ts_error_t *err = ts_error_createf(TS_EIO, "cannot open the session "
                                       "store %s: %s", path,
                                       st->db ? sqlite3_errmsg(st->db)
                                              : "out of memory");
    sqlite3_close(st->db);
    return err;
  }
  sqlite3_busy_timeout(st->db, 5000);
  apr_thread_mutex_create(&st->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  apr_thread_mutex_create(&st->qlock, APR_THREAD_MUTEX_DEFAULT, pool);
  apr_thread_cond_create(&st->qcond, pool);
  apr_pool_create(&st->txn_pool, pool);
  /* its own pool: prepared statements are added lazily by whichever
   * thread runs a batch, and must not race the caller's use of POOL */
  apr_pool_create(&st->pool, pool);
  st->stmts = apr_hash_make(st->pool);
  /* A change touches a few pages, and a commit writes them whole to the
   * WAL: 1 KiB pages make that write a quarter of the default's (store
   * alone, tmp/ext4: 9.3k -> 13-17k checkout+check-in pairs/s). Applies
   * when the store is created. */
  TS_ERR(exec(st, "PRAGMA page_size=1024"));
  TS_ERR(exec(st, "PRAGMA journal_mode=WAL"));
  TS_ERR(exec(st, "PRAGMA synchronous=NORMAL"));
  /* Every b-tree a checkout touches costs a page in the WAL at commit:
   * the sessions are kept by id in the table's own b-tree (WITHOUT
   * ROWID: no separate key index), plus the expiry index (reclaiming
   * runs in every transaction and must not scan) and the model-server
   * index for the few sessions that have one. Seats in use are counted
   * in the usage table, so no index by product. */
  TS_ERR(exec(st, "CREATE TABLE IF NOT EXISTS sessions ("
                  " id TEXT PRIMARY KEY, product TEXT NOT NULL,"
                  " user TEXT NOT NULL, host TEXT NOT NULL,"
                  " application TEXT NOT NULL, pid INTEGER NOT NULL,"
                  " started INTEGER NOT NULL, expires INTEGER NOT NULL,"
                  " server TEXT) WITHOUT ROWID"));
  TS_ERR(upgrade(st));
  TS_ERR(exec(st, "CREATE INDEX IF NOT EXISTS sessions_server"
                  " ON sessions(server) WHERE server IS NOT NULL"));
  TS_ERR(exec(st, "CREATE INDEX IF NOT EXISTS sessions_expires"
                  " ON sessions(expires)"));
  TS_ERR(exec(st, "CREATE TABLE IF NOT EXISTS usage ("
                  " product TEXT PRIMARY KEY, used INTEGER NOT NULL)"));
  /* derived data: rebuilt from the sessions at every open */
  TS_ERR(exec(st, "BEGIN IMMEDIATE; DELETE FROM usage;"
                  " INSERT INTO usage SELECT product, COUNT(*) FROM sessions"
                  " GROUP BY product; COMMIT"));
  *store = st;
  return NULL;
}

void
ts_sessions_close(ts_sessions_t *st)
{
  if (!st || !st->db)
    return;
  for (apr_hash_index_t *hi = apr_hash_first(NULL, st->stmts); hi;
       hi = apr_hash_next(hi))
    sqlite3_finalize(apr_hash_this_val(hi));
  sqlite3_close(st->db);
  st->db = NULL;
}

/* Bind ?1 of Q: TEXT, or NUM when TEXT is NULL. */
static void
bind_one(sqlite3_stmt *q, sqlite3_int64 num, const char *text)
{
  if (text)
    sqlite3_bind_text(q, 1, text, -1, SQLITE_STATIC);
  else
    sqlite3_bind_int64(q, 1, num);
}

/* Remember the sessions WHERE selects (binding ?1 to ARG) as ended by
 * EVENT, for the observer. */
static ts_error_t *
note_ended(ts_sessions_t *st, const char *event, const void *detail,
           const char *where, sqlite3_int64 num, const char *text)
{
  sqlite3_stmt *q;
  int rc;

  if (!st->observer)
    return NULL;
  rc = prepare(&q, st, apr_psprintf(st->txn_pool, "SELECT "
                          COLUMNS " FROM sessions WHERE %s", where));
  if (rc != SQLITE_OK)
    return db_error(st, rc, "preparing a session lookup");
  bind_one(q, num, text);
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    ended_t *e = apr_array_push(st->ended);
    e->event = event;
    e->detail = detail;
    read_row(&e->s, q, st->txn_pool);
  }
  done(q);
  return rc == SQLITE_DONE ? NULL : db_error(st, rc, "looking up sessions");
}

/* End the sessions WHERE selects (?1 is TEXT, or NUM when TEXT is NULL)
 * with EVENT and DETAIL for the observer, keeping the usage counts;
 * *N gets how many. Check-in, force-release, a gone model server and
 * lease expiry all end sessions this one way. */
static ts_error_t *
end_sessions(int *n, ts_sessions_t *st, const char *event,
             const void *detail, const char *where, sqlite3_int64 num,
             const char *text)
{
  sqlite3_stmt *q;
  int rc;

  TS_ERR(note_ended(st, event, detail, where, num, text));
  rc = prepare(&q, st, apr_psprintf(st->txn_pool, "UPDATE usage "
    "SET used = used - (SELECT COUNT(*) FROM sessions WHERE sessions.product"
    " = usage.product AND %s) WHERE product IN (SELECT product FROM "
    "sessions WHERE %s)", where, where));
  if (rc != SQLITE_OK)
    return db_error(st, rc, "preparing the usage update");
  bind_one(q, num, text);
  rc = sqlite3_step(q);
  done(q);
  if (rc != SQLITE_DONE)
    return db_error(st, rc, "updating the usage");
  rc = prepare(&q, st, apr_psprintf(st->txn_pool, "DELETE FROM "
                          "sessions WHERE %s", where));
  if (rc != SQLITE_OK)
    return db_error(st, rc, "preparing the release");
  bind_one(q, num, text);
  rc = sqlite3_step(q);
  done(q);
  if (rc != SQLITE_DONE)
    return db_error(st, rc, "releasing sessions");
  *n = sqlite3_changes(st->db);
  return NULL;
}

static ts_error_t *
reclaim(ts_sessions_t *st)
{
  apr_time_t now = apr_time_now();
  sqlite3_stmt *m;
  int rc, n;

  if (now < st->earliest)
    return NULL;   /* nothing has expired */
  TS_ERR(end_sessions(&n, st, "expiry", NULL, "expires < ?1", now, NULL));
  /* the next lease to end; until then no transaction needs to look */
  rc = prepare(&m, st, "SELECT MIN(expires) FROM sessions");
  if (rc != SQLITE_OK)
    return db_error(st, rc, "preparing the next expiry");
  rc = sqlite3_step(m);
  st->earliest = rc == SQLITE_ROW && sqlite3_column_type(m, 0) != SQLITE_NULL
                 ? sqlite3_column_int64(m, 0) : APR_INT64_MAX;
  done(m);
  return NULL;
}

/* Change the seats in use of PRODUCT by DELTA. */
static ts_error_t *
adjust(ts_sessions_t *st, const char *product, int delta)
{
  sqlite3_stmt *q;
  int rc = prepare(&q, st, "INSERT INTO usage VALUES (?1, ?2) ON"
                              " CONFLICT(product) DO UPDATE SET used = used"
                              " + ?2");

  if (rc != SQLITE_OK)
    return db_error(st, rc, "preparing the usage update");
  sqlite3_bind_text(q, 1, product, -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 2, delta);
  rc = sqlite3_step(q);
  done(q);
  return rc == SQLITE_DONE ? NULL : db_error(st, rc, "updating the usage");
}

static ts_error_t *
count(long *used, ts_sessions_t *st, const char *product)
{
  sqlite3_stmt *q;
  int rc = prepare(&q, st, "SELECT COALESCE((SELECT used FROM "
                              "usage WHERE product = ?), 0)");

  if (rc != SQLITE_OK)
    return db_error(st, rc, "preparing the count");
  sqlite3_bind_text(q, 1, product, -1, SQLITE_STATIC);
  rc = sqlite3_step(q);
  *used = rc == SQLITE_ROW ? (long)sqlite3_column_int64(q, 0) : 0;
  done(q);
  return rc == SQLITE_ROW ? NULL : db_error(st, rc, "counting seats");
}

static const char *
new_id(apr_pool_t *pool)
{
  unsigned char b[12];

  apr_generate_random_bytes(b, sizeof(b));
  return apr_psprintf(pool, "%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x"
                      "%02x", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                      b[8], b[9], b[10], b[11]);
}

/* Group commit. A commit costs far more than the statements of one
 * change (the WAL write, file locks), so changes that arrive together
 * share one: each caller queues its step; one of them leads, takes
 * every step queued so far, runs them in one IMMEDIATE transaction (each
 * in a savepoint of its own when there are several, so a refused step
 * undoes only itself) and commits; then every caller of the batch
 * returns with its own result, and a waiting caller leads the next
 * batch. Nobody is told of a change before its commit. */
typedef ts_error_t *(*txn_fn)(ts_sessions_t *st, void *baton);

typedef struct txn_req_t {
  txn_fn step;
  void *baton;
  ts_error_t *err;
  int done;
  struct txn_req_t *next;
} txn_req_t;

/* Run the prepared statement for SQL (no rows). */
static ts_error_t *
run_sql(ts_sessions_t *st, const char *sql)
{
  sqlite3_stmt *q;
  int rc = prepare(&q, st, sql);

  if (rc != SQLITE_OK)
    return db_error(st, rc, sql);
  rc = sqlite3_step(q);
  done(q);
  return rc == SQLITE_DONE ? NULL : db_error(st, rc, sql);
}

/* The same error for each of BATCH that has none yet. */
static void
fail_all(txn_req_t *batch, const ts_error_t *err, apr_pool_t *pool)
{
  for (txn_req_t *r = batch; r; r = r->next)
    if (!r->err)
      r->err = ts_error_createf(ts_error_code(err), "%s",
                                ts_error_text(err, pool));
}

static void
run_batch(ts_sessions_t *st, txn_req_t *batch)
{
  int several = batch->next != NULL;
  ts_error_t *err;

  apr_thread_mutex_lock(st->lock);
  apr_pool_clear(st->txn_pool);
  st->ended = apr_array_make(st->txn_pool, 4, sizeof(ended_t));
  err = run_sql(st, "BEGIN IMMEDIATE");
  if (!err)
    err = reclaim(st);
  for (txn_req_t *r = batch; !err && r; r = r->next) {
    int mark = st->ended->nelts;
    if (several && (err = run_sql(st, "SAVEPOINT step")))
      break;
    r->err = r->step(st, r->baton);
    if (r->err && several) {
      err = run_sql(st, "ROLLBACK TO step");
      st->ended->nelts = mark;   /* those did not end after all */
    }
    if (!err && several)
      err = run_sql(st, "RELEASE step");
    if (r->err && !several)
      err = r->err;   /* the whole transaction is this step's */
  }
  if (!err)
    err = run_sql(st, "COMMIT");
  if (err) {
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    st->earliest = 0;   /* a reclaim may have been undone: look again */
    if (err != batch->err || several) {
      fail_all(batch, err, st->txn_pool);
      if (err != batch->err)
        ts_error_clear(err);
    }
  }
  st->commits++;
  for (txn_req_t *r = batch; r; r = r->next)
    st->changes++;
  if (!err)
    for (int i = 0; i < st->ended->nelts; i++) {
      const ended_t *e = &APR_ARRAY_IDX(st->ended, i, ended_t);
      st->observer(st->observer_baton, e->event, &e->s, e->detail);
    }
  apr_thread_mutex_unlock(st->lock);
}

static ts_error_t *
transaction(ts_sessions_t *st, txn_fn step, void *baton)
{
  txn_req_t me = { step, baton, NULL, 0, NULL }, *batch;

  apr_thread_mutex_lock(st->qlock);
  if (st->tail)
    st->tail->next = &me;
  else
    st->head = &me;
  st->tail = &me;
  while (!me.done && st->leading)
    apr_thread_cond_wait(st->qcond, st->qlock);
  if (me.done) {
    apr_thread_mutex_unlock(st->qlock);
    return me.err;
  }
  st->leading = 1;
  batch = st->head;
  st->head = st->tail = NULL;
  apr_thread_mutex_unlock(st->qlock);

  run_batch(st, batch);

  apr_thread_mutex_lock(st->qlock);
  for (txn_req_t *r = batch, *next; r; r = next) {
    next = r->next;   /* R may be gone once done is set */
    r->done = 1;
  }
  st->leading = 0;
  apr_thread_cond_broadcast(st->qcond);
  apr_thread_mutex_unlock(st->qlock);
  return me.err;
}

typedef struct checkout_t {
  ts_session_t *s;
  long seats;
} checkout_t;

static ts_error_t *
do_checkout(ts_sessions_t *st, void *baton)
{
  checkout_t *c = baton;
  sqlite3_stmt *q;
  long used;
  int rc;

  TS_ERR(count(&used, st, c->s->product));
  if (used >= c->seats)
    return ts_error_createf(TS_EUNAVAIL, "no seat left for product %s: %ld "
                            "of %ld in use", c->s->product, used, c->seats);
  rc = prepare(&q, st, "INSERT INTO sessions (" COLUMNS ") "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (rc != SQLITE_OK)
    return db_error(st, rc, "preparing the checkout");
  sqlite3_bind_text(q, 1, c->s->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, c->s->product, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, c->s->user, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 4, c->s->host, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 5, c->s->application, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 6, c->s->pid);
  sqlite3_bind_int64(q, 7, c->s->started);
  sqlite3_bind_int64(q, 8, c->s->expires);
  if (c->s->server)
    sqlite3_bind_text(q, 9, c->s->server, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(q, 9);
  rc = sqlite3_step(q);
  done(q);
  if (rc != SQLITE_DONE)
    return db_error(st, rc, "recording the checkout");
  if (c->s->expires < st->earliest)
    st->earliest = c->s->expires;
  return adjust(st, c->s->product, 1);
}

ts_error_t *
ts_sessions_checkout(ts_sessions_t *st, ts_session_t *s, long seats,
                     apr_interval_time_t lease, apr_pool_t *pool)
{
  checkout_t c = { s, seats };

  s->id = new_id(pool);
  s->started = apr_time_now();
  s->expires = s->started + lease;
  return transaction(st, do_checkout, &c);
}

typedef struct change_t {
  const char *id;
  apr_time_t expires;   /* renew: the new end */
  const char *event;    /* release: "checkin" or "force-release" */
  const void *detail;
} change_t;

static ts_error_t *
do_renew(ts_sessions_t *st, void *baton)
{
  change_t *c = baton;
  sqlite3_stmt *q;
  int rc = prepare(&q, st, "UPDATE sessions SET expires = ? "
                              "WHERE id = ?");

  if (rc != SQLITE_OK)
    return db_error(st, rc, "preparing a lease renewal");
  sqlite3_bind_int64(q, 1, c->expires);
  sqlite3_bind_text(q, 2, c->id, -1, SQLITE_STATIC);
  rc = sqlite3_step(q);
  done(q);
  if (rc != SQLITE_DONE)
    return db_error(st, rc, "renewing a lease");
  if (sqlite3_changes(st->db) == 0)
    return ts_error_createf(TS_ENOENT, "no session %s (never checked out, "
                            "checked in, or its lease ran out)", c->id);
  return NULL;
}


static ts_error_t *
do_release(ts_sessions_t *st, void *baton)
{
  change_t *c = baton;
  int n;

  TS_ERR(end_sessions(&n, st, c->event, c->detail, "id = ?1", 0, c->id));
  if (n == 0)
    return ts_error_createf(TS_ENOENT, "no session %s (never checked out, "
                            "checked in, or its lease ran out)", c->id);
  return NULL;
}

ts_error_t *
ts_sessions_renew(apr_time_t *expires, ts_sessions_t *st, const char *id,
                  apr_interval_time_t lease)
{
  change_t c = { id, apr_time_now() + lease, NULL, NULL };

  TS_ERR(transaction(st, do_renew, &c));
  *expires = c.expires;
  return NULL;
}

ts_error_t *
ts_sessions_release(ts_sessions_t *st, const char *id, const char *event,
                    const void *detail)
{
  change_t c = { id, 0, event, detail };
  return transaction(st, do_release, &c);
}

typedef struct by_server_t {
  const char *server;
  const void *detail;
  int n;
} by_server_t;

static ts_error_t *
do_release_server(ts_sessions_t *st, void *baton)
{
  by_server_t *b = baton;
  return end_sessions(&b->n, st, "model-server-gone", b->detail,
                      "server = ?1", 0, b->server);
}

ts_error_t *
ts_sessions_release_server(int *released, ts_sessions_t *st,
                           const char *server, const void *detail)
{
  by_server_t b = { server, detail, 0 };

  TS_ERR(transaction(st, do_release_server, &b));
  *released = b.n;
  return NULL;
}

void
ts_sessions_observe(ts_sessions_t *st, ts_sessions_observer_t observer,
                    void *baton)
{
  st->observer = observer;
  st->observer_baton = baton;
}

typedef struct listing_t {
  apr_array_header_t *out;
  apr_pool_t *pool;
} listing_t;

static ts_error_t *
do_list(ts_sessions_t *st, void *baton)
{
  listing_t *l = baton;
  sqlite3_stmt *q;
  int rc = prepare(&q, st, "SELECT " COLUMNS " FROM sessions "
                              "ORDER BY started");

  if (rc != SQLITE_OK)
    return db_error(st, rc, "preparing the list");
  while ((rc = sqlite3_step(q)) == SQLITE_ROW)
    read_row(apr_array_push(l->out), q, l->pool);
  done(q);
  return rc == SQLITE_DONE ? NULL : db_error(st, rc, "listing sessions");
}

ts_error_t *
ts_sessions_list(apr_array_header_t **sessions, ts_sessions_t *st,
                 apr_pool_t *pool)
{
  listing_t l = { apr_array_make(pool, 16, sizeof(ts_session_t)), pool };

  TS_ERR(transaction(st, do_list, &l));
  *sessions = l.out;
  return NULL;
}

typedef struct counting_t {
  const char *product;
  long used;
} counting_t;

static ts_error_t *
do_count(ts_sessions_t *st, void *baton)
{
  counting_t *c = baton;
  return count(&c->used, st, c->product);
}

ts_error_t *
ts_sessions_count(long *used, ts_sessions_t *st, const char *product)
{
  counting_t c = { product, 0 };

  TS_ERR(transaction(st, do_count, &c));
  *used = c.used;
  return NULL;
}

void
ts_sessions_stats(apr_uint64_t *commits, apr_uint64_t *steps,
                  ts_sessions_t *st)
{
  apr_thread_mutex_lock(st->lock);
  *commits = st->commits;
  *steps = st->changes;
  apr_thread_mutex_unlock(st->lock);
}
