/* ts_elements_sql.c: what the element store reads from and writes to the
 * repository's file (see ts_repo_impl.h): every element once at start,
 * then single-row changes inside the writer's transactions. */
#include "ts_repo_impl.h"

ts_error_t *
ts_repo__prepare(ts_repo_stmts_t *st, ts_repo_t *repo)
{
  static const char *const sql[] = {
    "INSERT INTO elements (id, type, name, parent, revision, properties)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    "UPDATE elements SET type = ?2, name = ?3, parent = ?4, revision = ?5,"
    " properties = ?6 WHERE id = ?1",
    "DELETE FROM elements WHERE id = ?1",
    "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"
  };
  sqlite3_stmt **q[] = { &st->insert, &st->update, &st->remove, &st->begin,
                         &st->commit, &st->rollback };

  for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
    int rc = sqlite3_prepare_v3(repo->db, sql[i], -1,
                                SQLITE_PREPARE_PERSISTENT, q[i], NULL);
    if (rc != SQLITE_OK) {
      ts_repo__finalize(st);
      return ts_repo__db_error(repo->db, rc, repo->path,
                               TS_REPO_PREPARE);
    }
  }
  return NULL;
}

void
ts_repo__finalize(ts_repo_stmts_t *st)
{
  sqlite3_stmt **q[] = { &st->insert, &st->update, &st->remove, &st->begin,
                         &st->commit, &st->rollback };

  for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
    sqlite3_finalize(*q[i]);
    *q[i] = NULL;
  }
}

/* The highest id AUTOINCREMENT gave (0: none). */
static ts_error_t *
last_id(apr_int64_t *last, ts_repo_t *repo)
{
  sqlite3_stmt *q;
  int rc = sqlite3_prepare_v2(repo->db, "SELECT seq FROM sqlite_sequence "
                              "WHERE name = 'elements'", -1, &q, NULL);

  *last = 0;
  if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW)
    *last = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return rc == SQLITE_ROW || rc == SQLITE_DONE
         ? NULL : ts_repo__db_error(repo->db, rc, repo->path,
                                    TS_REPO_LOAD);
}

ts_error_t *
ts_repo__load(apr_int64_t *last, ts_repo_t *repo,
              void (*row)(void *baton, const ts_element_t *e), void *baton)
{
  sqlite3_stmt *q;
  ts_element_t e = { 0 };
  int rc = sqlite3_prepare_v2(repo->db, "SELECT id, type, name, parent, "
                              "revision, properties FROM elements ORDER BY "
                              "id", -1, &q, NULL);

  while ((rc == SQLITE_OK || rc == SQLITE_ROW)
         && (rc = sqlite3_step(q)) == SQLITE_ROW) {
    e.id = sqlite3_column_int64(q, 0);
    e.type = (const char *)sqlite3_column_text(q, 1);
    e.name = (const char *)sqlite3_column_text(q, 2);
    e.parent = sqlite3_column_int64(q, 3);   /* NULL reads 0 */
    e.revision = sqlite3_column_int64(q, 4);
    e.properties = (const char *)sqlite3_column_text(q, 5);
    if (!e.type || !e.name || !e.properties) {
      rc = SQLITE_NOMEM;
      break;
    }
    row(baton, &e);
  }
  sqlite3_finalize(q);
  if (rc != SQLITE_DONE)
    return ts_repo__db_error(repo->db, rc, repo->path, TS_REPO_LOAD);
  TS_ERR(last_id(last, repo));
  if (e.id > *last)
    *last = e.id;
  return NULL;
}

ts_error_t *
ts_repo__step(ts_repo_t *repo, sqlite3_stmt *q, ts_repo_step_t step)
{
  int rc = sqlite3_step(q);

  sqlite3_reset(q);
  return rc == SQLITE_DONE ? NULL : ts_repo__db_error(repo->db, rc,
                                                      repo->path, step);
}

ts_error_t *
ts_repo__put(ts_repo_t *repo, ts_repo_stmts_t *st, const ts_element_t *e,
             int is_new)
{
  sqlite3_stmt *q = is_new ? st->insert : st->update;
  ts_error_t *err;

  sqlite3_bind_int64(q, 1, e->id);
  sqlite3_bind_text(q, 2, e->type, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, e->name, -1, SQLITE_STATIC);
  if (e->parent)
    sqlite3_bind_int64(q, 4, e->parent);
  else
    sqlite3_bind_null(q, 4);
  sqlite3_bind_int64(q, 5, e->revision);
  sqlite3_bind_text(q, 6, e->properties, -1, SQLITE_STATIC);
  err = ts_repo__step(repo, q, is_new ? TS_REPO_INSERT : TS_REPO_UPDATE);
  sqlite3_clear_bindings(q);
  return err;
}

ts_error_t *
ts_repo__remove(ts_repo_t *repo, ts_repo_stmts_t *st, apr_int64_t id)
{
  sqlite3_bind_int64(st->remove, 1, id);
  return ts_repo__step(repo, st->remove, TS_REPO_DELETE);
}
