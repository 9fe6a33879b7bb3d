/* ts_agent_state.c: what the agent runs, in SQLite beside its log
 * (ivm/logs/agent.<host>.<port>/agent.db), so that a version that
 * crashed is still shown as crashed after the agent restarted, and a
 * version an agent that was killed had running shows as crashed too. */
#include "ts_agent.h"

#include <sqlite3.h>
#include <apr_strings.h>

#include "ts_file.h"

struct ts_agent_state_t {
  sqlite3 *db;
  const char *path;
};

static const char schema[] =
  "PRAGMA journal_mode=WAL;"
  "PRAGMA synchronous=FULL;"
  "CREATE TABLE IF NOT EXISTS versions ("
  "  model TEXT NOT NULL, version TEXT NOT NULL, read_only INTEGER NOT NULL,"
  "  state TEXT NOT NULL, reason TEXT, port INTEGER, pid INTEGER,"
  "  since INTEGER, PRIMARY KEY (model, version, read_only));"
  "UPDATE versions SET state = 'crashed', reason = 'the agent ended while "
  "it ran (killed, or its machine went down)' WHERE state <> 'crashed';";

ts_error_t *
ts_agent_state_open(ts_agent_state_t **state, const char *dir,
                    apr_pool_t *pool)
{
  ts_agent_state_t *st = apr_pcalloc(pool, sizeof(*st));
  char *why = NULL;
  int rc;

  st->path = ts_path_join(dir, "agent.db", pool);
  rc = sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READWRITE
                       | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX
                       | SQLITE_OPEN_NOFOLLOW, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(st->db, 5000);
    rc = sqlite3_exec(st->db, schema, NULL, NULL, &why);
  }
  if (rc != SQLITE_OK) {
    ts_error_t *err = ts_error_createf(TS_EIO, "cannot open the agent's "
      "state %s: %s; if the file is damaged, move it away (the agent "
      "starts with no record of crashed versions)", st->path,
      why ? why : sqlite3_errmsg(st->db));
    sqlite3_free(why);
    sqlite3_close(st->db);
    return err;
  }
  *state = st;
  return NULL;
}

void
ts_agent_state_close(ts_agent_state_t *st)
{
  if (st)
    sqlite3_close(st->db);
}

static void
failed(ts_agent_t *a, const char *what)
{
  ts_log(a->log, TS_LOG_ERROR, "the agent's state %s: %s failed: %s",
         a->state->path, what, sqlite3_errmsg(a->state->db));
}

void
ts_agent_state_save(ts_agent_t *a, const ts_agent_version_t *v)
{
  sqlite3_stmt *st;

  if (sqlite3_prepare_v2(a->state->db, "INSERT OR REPLACE INTO versions "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL)) {
    failed(a, "saving a version");
    return;
  }
  sqlite3_bind_text(st, 1, v->model, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, v->version, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 3, v->read_only);
  sqlite3_bind_text(st, 4, v->state, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, v->reason, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 6, v->port);
  sqlite3_bind_int64(st, 7, v->pid);
  sqlite3_bind_int64(st, 8, apr_time_sec(v->since));
  if (sqlite3_step(st) != SQLITE_DONE)
    failed(a, "saving a version");
  sqlite3_finalize(st);
}

void
ts_agent_state_forget(ts_agent_t *a, const char *model, const char *version,
                      int read_only)
{
  sqlite3_stmt *st;

  if (sqlite3_prepare_v2(a->state->db, "DELETE FROM versions WHERE model = "
                         "? AND version = ? AND read_only = ?", -1, &st,
                         NULL)) {
    failed(a, "forgetting a version");
    return;
  }
  sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 3, read_only);
  if (sqlite3_step(st) != SQLITE_DONE)
    failed(a, "forgetting a version");
  sqlite3_finalize(st);
}

ts_error_t *
ts_agent_state_load(ts_agent_t *a, apr_pool_t *pool)
{
  sqlite3_stmt *st;
  int rc;

  if (sqlite3_prepare_v2(a->state->db, "SELECT model, version, read_only, "
                         "reason, since FROM versions", -1, &st, NULL))
    return ts_error_createf(TS_EIO, "cannot read the agent's state %s: %s",
                            a->state->path, sqlite3_errmsg(a->state->db));
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    apr_pool_t *vp;
    ts_agent_version_t *v;
    apr_pool_create(&vp, a->pool);
    v = apr_pcalloc(vp, sizeof(*v));
    v->agent = a;
    v->pool = vp;
    v->model = apr_pstrdup(vp, (const char *)sqlite3_column_text(st, 0));
    v->version = apr_pstrdup(vp, (const char *)sqlite3_column_text(st, 1));
    v->read_only = sqlite3_column_int(st, 2);
    v->state = "crashed";
    v->reason = sqlite3_column_text(st, 3)
                ? apr_pstrdup(vp, (const char *)sqlite3_column_text(st, 3))
                : NULL;
    v->since = apr_time_from_sec(sqlite3_column_int64(st, 4));
    v->dir = ts_version_dir(a->inoprj, v->model, v->version, v->read_only,
                            vp);
    /* a lock this agent's earlier run left: stale now */
    ts_agent_lock_release(a, v->dir, pool);
    apr_hash_set(a->versions, apr_pstrcat(vp, v->read_only ? "readonly:"
                                          : "", v->model, "/", v->version,
                                          NULL), APR_HASH_KEY_STRING, v);
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? NULL
         : ts_error_createf(TS_EIO, "cannot read the agent's state %s: %s",
                            a->state->path, sqlite3_errmsg(a->state->db));
}
