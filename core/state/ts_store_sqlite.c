/* ts_store_sqlite.c: the seat store in SQLite (the implementation
 * behind ts_store.h).
 *
 * One write connection, used only by the store's writer thread: every
 * batch is one IMMEDIATE transaction that reclaims expired leases, then
 * applies each operation in a savepoint of its own (a refused one undoes
 * only itself), then commits. The seats in use per product are kept in a
 * table of their own, changed in the same transactions, so a checkout
 * costs the same with 10 or 100000 open sessions. WAL with
 * synchronous=NORMAL: a commit is in the log before anyone is told, so it
 * survives a crash of the server (kill -9); only an OS crash or power
 * loss could undo the last commits, and never corrupts the store. Pages
 * of the session list are read on a second connection (WAL readers see
 * the last commit and never wait for the writer).
 */
#include "ts_store.h"

#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <sqlite3.h>

#include "ts_i18n.h"

typedef struct sq_t {
  sqlite3 *db;                  /* the writer thread's */
  sqlite3 *rdb;                 /* pages of the list, under RLOCK */
  apr_thread_mutex_t *rlock;
  const char *path;
  apr_hash_t *stmts;            /* SQL text -> prepared statement (DB) */
  apr_time_t earliest;          /* no lease ends before this */
  apr_pool_t *pool;             /* the writer's: statements */
  apr_pool_t *txn_pool;         /* a batch's scratch */
  apr_array_header_t *ended;    /* of ts_store_ended_t, in TXN_POOL */
} sq_t;

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

/* SQLite's own words for RC on ST. */
static ts_error_t *
sqlite_error(sq_t *st, int rc)
{
  return ts_error_createf(TS_EIO, "%s (SQLite %d)", sqlite3_errmsg(st->db),
                          rc);
}

/* A step on ST that failed with RC: FMT (marked with N_(), one sentence
 * per step, "%s" the store's path) around SQLite's words. */
#define db_error(st, rc, fmt) \
  ts_error_wrapf(sqlite_error((st), (rc)), fmt, (st)->path)

/* The statement SQL on ST failed with RC. */
static ts_error_t *
sql_error(sq_t *st, int rc, const char *sql)
{
  return ts_error_wrapf(sqlite_error(st, rc), "%s in %s failed", sql,
                        st->path);
}

/* The prepared statement for SQL: the same few statements run for every
 * request, so each is prepared once and kept; done() readies it again. */
static int
prepare(sqlite3_stmt **q, sq_t *st, const char *sql)
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
exec(sq_t *st, const char *sql)
{
  int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

  return rc == SQLITE_OK ? NULL : sql_error(st, rc, sql);
}

/* The sessions table as this release keeps it, under the name NAME. The
 * token column holds the hash of the holder's token (ts_store.h). */
#define SESSIONS_TABLE(name) \
  "CREATE TABLE IF NOT EXISTS " name " (id TEXT PRIMARY KEY," \
  " product TEXT NOT NULL, user TEXT NOT NULL, host TEXT NOT NULL," \
  " application TEXT NOT NULL, pid INTEGER NOT NULL," \
  " started INTEGER NOT NULL, expires INTEGER NOT NULL, server TEXT," \
  " token TEXT) WITHOUT ROWID"

/* Whether SQL prepares on ST's write connection (a column or the rowid
 * exists). */
static int
compiles(sq_t *st, const char *sql)
{
  sqlite3_stmt *q;

  if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK)
    return 0;
  sqlite3_finalize(q);
  return 1;
}

/* Stores of earlier releases: the first lacks the model-server column;
 * the first two kept the sessions in a rowid table with a separate key
 * index and had an index by product; none before this one has the token
 * column (their sessions keep NULL there: no token matches it, so they
 * end with their lease or by force-release). Converted in ONE
 * transaction: a crash leaves the old or the new form. */
static ts_error_t *
upgrade(sq_t *st)
{
  int server = compiles(st, "SELECT server FROM sessions LIMIT 0");
  int token = compiles(st, "SELECT token FROM sessions LIMIT 0");
  int rowid = compiles(st, "SELECT rowid FROM sessions LIMIT 0");
  const char *sql;
  ts_error_t *err;

  if (server && token && !rowid)
    return NULL;
  if (rowid)
    sql = apr_psprintf(st->pool, "BEGIN IMMEDIATE; "
      SESSIONS_TABLE("sessions_new") "; INSERT INTO sessions_new SELECT id,"
      " product, user, host, application, pid, started, expires, %s, %s"
      " FROM sessions; DROP TABLE sessions;"
      " ALTER TABLE sessions_new RENAME TO sessions; COMMIT",
      server ? "server" : "NULL", token ? "token" : "NULL");
  else
    sql = apr_pstrcat(st->pool, "BEGIN IMMEDIATE; ",
                      server ? "" : "ALTER TABLE sessions ADD COLUMN server"
                                    " TEXT; ",
                      token ? "" : "ALTER TABLE sessions ADD COLUMN token "
                                   "TEXT; ", "COMMIT", NULL);
  err = exec(st, sql);
  if (err)
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
  TS_ERR_W(err, "cannot convert the session store %s of an earlier release "
           "(nothing was changed); check that the disk has room and that "
           "the server's account may write INOLIC", st->path);
  return NULL;
}

/* The write connection's pragmas and schema. */
static ts_error_t *
create_schema(sq_t *st)
{
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
  TS_ERR(exec(st, SESSIONS_TABLE("sessions")));
  TS_ERR(upgrade(st));
  TS_ERR(exec(st, "CREATE INDEX IF NOT EXISTS sessions_server"
                  " ON sessions(server) WHERE server IS NOT NULL"));
  TS_ERR(exec(st, "CREATE INDEX IF NOT EXISTS sessions_expires"
                  " ON sessions(expires)"));
  TS_ERR(exec(st, "CREATE TABLE IF NOT EXISTS usage ("
                  " product TEXT PRIMARY KEY, used INTEGER NOT NULL)"));
  /* derived data: rebuilt from the sessions at every open */
  return exec(st, "BEGIN IMMEDIATE; DELETE FROM usage;"
                  " INSERT INTO usage SELECT product, COUNT(*) FROM sessions"
                  " GROUP BY product; COMMIT");
}

static ts_error_t *
open_db(sqlite3 **db, const char *path)
{
  int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE
                           | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);

  if (rc != SQLITE_OK) {
    ts_error_t *err = *db
      ? ts_error_createf(TS_EIO, "cannot open the session store %s: %s; "
                         "check that INOLIC exists and the server's account "
                         "may write it", path, sqlite3_errmsg(*db))
      : ts_error_createf(TS_EIO, "cannot open the session store %s: out of "
                         "memory", path);
    sqlite3_close(*db);
    *db = NULL;
    return err;
  }
  sqlite3_busy_timeout(*db, 5000);
  return NULL;
}

static void
sq_close(void *impl)
{
  sq_t *st = impl;

  if (!st->db)
    return;
  for (apr_hash_index_t *hi = apr_hash_first(NULL, st->stmts); hi;
       hi = apr_hash_next(hi))
    sqlite3_finalize(apr_hash_this_val(hi));
  sqlite3_close(st->db);
  sqlite3_close(st->rdb);
  st->db = st->rdb = NULL;
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
note_ended(sq_t *st, const char *event, const void *detail,
           const char *where, sqlite3_int64 num, const char *text)
{
  sqlite3_stmt *q;
  int rc;

  rc = prepare(&q, st, apr_psprintf(st->txn_pool, "SELECT "
                          COLUMNS " FROM sessions WHERE %s", where));
  if (rc != SQLITE_OK)
    return db_error(st, rc, N_("preparing a session lookup in %s failed"));
  bind_one(q, num, text);
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    ts_store_ended_t *e = apr_array_push(st->ended);
    e->event = event;
    e->detail = detail;
    read_row(&e->session, q, st->txn_pool);
  }
  done(q);
  return rc == SQLITE_DONE ? NULL
    : db_error(st, rc, N_("looking up sessions in %s failed"));
}

/* End the sessions WHERE selects (?1 is TEXT, or NUM when TEXT is NULL)
 * with EVENT and DETAIL for the observer, keeping the usage counts;
 * *N gets how many. Check-in, force-release, a gone model server and
 * lease expiry all end sessions this one way. */
static ts_error_t *
end_sessions(int *n, sq_t *st, const char *event,
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
    return db_error(st, rc, N_("preparing the usage update in %s failed"));
  bind_one(q, num, text);
  rc = sqlite3_step(q);
  done(q);
  if (rc != SQLITE_DONE)
    return db_error(st, rc, N_("updating the usage in %s failed"));
  rc = prepare(&q, st, apr_psprintf(st->txn_pool, "DELETE FROM "
                          "sessions WHERE %s", where));
  if (rc != SQLITE_OK)
    return db_error(st, rc, N_("preparing the release in %s failed"));
  bind_one(q, num, text);
  rc = sqlite3_step(q);
  done(q);
  if (rc != SQLITE_DONE)
    return db_error(st, rc, N_("releasing sessions in %s failed"));
  *n = sqlite3_changes(st->db);
  return NULL;
}

static ts_error_t *
reclaim(sq_t *st, apr_time_t now)
{
  sqlite3_stmt *m;
  int rc, n;

  if (now < st->earliest)
    return NULL;   /* nothing has expired */
  TS_ERR(end_sessions(&n, st, "expiry", NULL, "expires < ?1", now, NULL));
  /* the next lease to end; until then no transaction needs to look */
  rc = prepare(&m, st, "SELECT MIN(expires) FROM sessions");
  if (rc != SQLITE_OK)
    return db_error(st, rc, N_("preparing the next expiry in %s failed"));
  rc = sqlite3_step(m);
  st->earliest = rc == SQLITE_ROW && sqlite3_column_type(m, 0) != SQLITE_NULL
                 ? sqlite3_column_int64(m, 0) : APR_INT64_MAX;
  done(m);
  return NULL;
}

/* Change the seats in use of PRODUCT by DELTA. */
static ts_error_t *
adjust(sq_t *st, const char *product, int delta)
{
  sqlite3_stmt *q;
  int rc = prepare(&q, st, "INSERT INTO usage VALUES (?1, ?2) ON"
                              " CONFLICT(product) DO UPDATE SET used = used"
                              " + ?2");

  if (rc != SQLITE_OK)
    return db_error(st, rc, N_("preparing the usage update in %s failed"));
  sqlite3_bind_text(q, 1, product, -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 2, delta);
  rc = sqlite3_step(q);
  done(q);
  return rc == SQLITE_DONE ? NULL
    : db_error(st, rc, N_("updating the usage in %s failed"));
}

static ts_error_t *
count(long *used, sq_t *st, const char *product)
{
  sqlite3_stmt *q;
  int rc = prepare(&q, st, "SELECT COALESCE((SELECT used FROM "
                              "usage WHERE product = ?), 0)");

  if (rc != SQLITE_OK)
    return db_error(st, rc, N_("preparing the count in %s failed"));
  sqlite3_bind_text(q, 1, product, -1, SQLITE_STATIC);
  rc = sqlite3_step(q);
  *used = rc == SQLITE_ROW ? (long)sqlite3_column_int64(q, 0) : 0;
  done(q);
  return rc == SQLITE_ROW ? NULL
    : db_error(st, rc, N_("counting seats in %s failed"));
}

/* Run the prepared statement for SQL (no rows). */
static ts_error_t *
run_sql(sq_t *st, const char *sql)
{
  sqlite3_stmt *q;
  int rc = prepare(&q, st, sql);

  if (rc != SQLITE_OK)
    return sql_error(st, rc, sql);
  rc = sqlite3_step(q);
  done(q);
  return rc == SQLITE_DONE ? NULL : sql_error(st, rc, sql);
}

static ts_error_t *
do_checkout(sq_t *st, ts_store_op_t *op)
{
  const ts_session_t *s = &op->session;
  sqlite3_stmt *q;
  long used;
  int rc;

  TS_ERR(count(&used, st, s->product));
  if (used >= op->seats)
    return ts_error_createf(TS_EUNAVAIL, "no seat left for product %s: %ld "
                            "of %ld in use", s->product, used, op->seats);
  rc = prepare(&q, st, "INSERT INTO sessions (" COLUMNS ", token) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (rc != SQLITE_OK)
    return db_error(st, rc, N_("preparing the checkout in %s failed"));
  sqlite3_bind_text(q, 1, s->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, s->product, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, s->user, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 4, s->host, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 5, s->application, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 6, s->pid);
  sqlite3_bind_int64(q, 7, s->started);
  sqlite3_bind_int64(q, 8, s->expires);
  if (s->server)
    sqlite3_bind_text(q, 9, s->server, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(q, 9);
  if (op->token)
    sqlite3_bind_text(q, 10, op->token, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(q, 10);
  rc = sqlite3_step(q);
  done(q);
  if (rc != SQLITE_DONE)
    return db_error(st, rc, N_("recording the checkout in %s failed"));
  if (s->expires < st->earliest)
    st->earliest = s->expires;
  return adjust(st, s->product, 1);
}

/* The one answer for an unknown session and for a token that is not the
 * session's (HELD), so that ids, which others see, cannot be probed. */
static ts_error_t *
no_session(const char *id, int held)
{
  if (held)
    return ts_error_createf(TS_ENOENT, "no session %s held with this token "
                            "(never checked out, checked in, its lease ran "
                            "out, or the token is not the one its checkout "
                            "returned)", id);
  return ts_error_createf(TS_ENOENT, "no session %s (never checked out, "
                          "checked in, or its lease ran out)", id);
}

static ts_error_t *
do_renew(sq_t *st, ts_store_op_t *op, apr_time_t now)
{
  sqlite3_stmt *q;
  int rc;

  if (!op->token)
    return no_session(op->id, 1);
  rc = prepare(&q, st, "UPDATE sessions SET expires = ?1 WHERE id = ?2 "
                       "AND token = ?3");
  if (rc != SQLITE_OK)
    return db_error(st, rc, N_("preparing a lease renewal in %s failed"));
  op->expires = now + op->lease;
  sqlite3_bind_int64(q, 1, op->expires);
  sqlite3_bind_text(q, 2, op->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, op->token, -1, SQLITE_STATIC);
  rc = sqlite3_step(q);
  done(q);
  if (rc != SQLITE_DONE)
    return db_error(st, rc, N_("renewing a lease in %s failed"));
  return sqlite3_changes(st->db) ? NULL : no_session(op->id, 1);
}

/* One session by id: the row comes back from the DELETE itself
 * (RETURNING), and only its product's count changes; the general
 * end_sessions would look the row up and recount with subqueries. */
static ts_error_t *
do_release(sq_t *st, ts_store_op_t *op)
{
  int held = !op->administrator;
  ts_store_ended_t *e;
  sqlite3_stmt *q;
  int rc;

  if (held && !op->token)
    return no_session(op->id, 1);
  rc = prepare(&q, st, held ? "DELETE FROM sessions WHERE id = ?1 AND "
                              "token = ?2 RETURNING " COLUMNS
                            : "DELETE FROM sessions WHERE id = ?1 "
                              "RETURNING " COLUMNS);
  if (rc != SQLITE_OK)
    return db_error(st, rc, N_("preparing the release in %s failed"));
  sqlite3_bind_text(q, 1, op->id, -1, SQLITE_STATIC);
  if (held)
    sqlite3_bind_text(q, 2, op->token, -1, SQLITE_STATIC);
  rc = sqlite3_step(q);
  if (rc != SQLITE_ROW) {
    done(q);
    return rc == SQLITE_DONE ? no_session(op->id, held)
      : db_error(st, rc, N_("releasing a session in %s failed"));
  }
  e = apr_array_push(st->ended);
  e->event = op->event;
  e->detail = op->detail;
  read_row(&e->session, q, st->txn_pool);
  rc = sqlite3_step(q);
  done(q);
  if (rc != SQLITE_DONE)
    return db_error(st, rc, N_("releasing a session in %s failed"));
  return adjust(st, e->session.product, -1);
}

static ts_error_t *
apply(sq_t *st, ts_store_op_t *op, apr_time_t now)
{

  switch (op->kind) {
  case TS_STORE_CHECKOUT:
    return do_checkout(st, op);
  case TS_STORE_RENEW:
    return do_renew(st, op, now);
  case TS_STORE_RELEASE:
    return do_release(st, op);
  case TS_STORE_RELEASE_SERVER:
    return end_sessions(&op->released, st, "model-server-gone", op->detail,
                        "server = ?1", 0, op->server);
  case TS_STORE_COUNT:
    return count(&op->used, st, op->session.product);
  }
  return ts_error_createf(TS_EINTERNAL, "unknown seat-store operation %d",
                          (int)op->kind);
}

/* Each of OPS in a savepoint of its own, so a refused one undoes only
 * itself. */
static ts_error_t *
apply_all(sq_t *st, ts_store_op_t **ops, int n, apr_time_t now)
{
  for (int i = 0; i < n; i++) {
    ts_store_op_t *op = ops[i];
    int mark = st->ended->nelts;
    TS_ERR(run_sql(st, "SAVEPOINT op"));
    op->err = apply(st, op, now);
    if (op->err) {
      TS_ERR(run_sql(st, "ROLLBACK TO op"));
      st->ended->nelts = mark;   /* those did not end after all */
    }
    TS_ERR(run_sql(st, "RELEASE op"));
  }
  return NULL;
}

static ts_error_t *
sq_batch(void *impl, ts_store_op_t **ops, int n, apr_time_t now,
         apr_array_header_t *ended, apr_time_t *next_expiry,
         apr_pool_t *scratch)
{
  sq_t *st = impl;
  ts_error_t *err;

  st->txn_pool = scratch;
  st->ended = ended;
  err = run_sql(st, "BEGIN IMMEDIATE");
  if (!err)
    err = reclaim(st, now);
  if (!err)
    err = apply_all(st, ops, n, now);
  if (!err)
    err = run_sql(st, "COMMIT");
  if (err) {
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    ended->nelts = 0;
    st->earliest = 0;   /* a reclaim may have been undone: look again */
  }
  *next_expiry = st->earliest;
  return err;
}

static ts_error_t *
sq_list(apr_array_header_t **sessions, void *impl, const char *after,
        int limit, apr_time_t now, apr_pool_t *pool)
{
  sq_t *st = impl;
  apr_array_header_t *out = apr_array_make(pool, limit < 64 ? limit : 64,
                                           sizeof(ts_session_t));
  sqlite3_stmt *q;
  int rc;

  apr_thread_mutex_lock(st->rlock);
  rc = sqlite3_prepare_v2(st->rdb, "SELECT " COLUMNS " FROM sessions"
                          " WHERE id > ?1 AND expires >= ?2 ORDER BY id"
                          " LIMIT ?3", -1, &q, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(q, 1, after ? after : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now);
    sqlite3_bind_int(q, 3, limit);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
      read_row(apr_array_push(out), q, pool);
    sqlite3_finalize(q);
  }
  apr_thread_mutex_unlock(st->rlock);
  if (rc != SQLITE_DONE)
    return ts_error_createf(TS_EIO, "listing the sessions in %s failed: "
                            "SQLite %d (%s)", st->path, rc,
                            sqlite3_errstr(rc));
  *sessions = out;
  return NULL;
}

static const ts_store_impl_t sqlite_impl = {
  "sqlite", sq_batch, sq_list, sq_close
};

ts_error_t *
ts_store_open_sqlite(ts_store_t **store, const char *path, apr_pool_t *pool)
{
  sq_t *st = apr_pcalloc(pool, sizeof(*st));
  ts_error_t *err;

  st->path = apr_pstrdup(pool, path);
  /* its own pool: the writer thread adds prepared statements lazily */
  apr_pool_create(&st->pool, pool);
  st->txn_pool = st->pool;
  st->stmts = apr_hash_make(st->pool);
  apr_thread_mutex_create(&st->rlock, APR_THREAD_MUTEX_DEFAULT, pool);
  TS_ERR(open_db(&st->db, path));
  err = create_schema(st);
  if (!err)
    err = open_db(&st->rdb, path);
  if (err) {
    sq_close(st);
    return err;
  }
  return ts_store_create(store, &sqlite_impl, st, pool);
}
