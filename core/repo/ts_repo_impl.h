/* ts_repo_impl.h: an open repository (ts_repo.h), shared by the files of
 * core/repo and by nothing else:
 *
 *   ts_repo.c          the file: create, copy, meta, size, open
 *   ts_elements.c      the elements in memory, the writer and its batches
 *   ts_elements_sql.c  the statements a batch runs
 */
#ifndef TS_REPO_IMPL_H
#define TS_REPO_IMPL_H

#include <sqlite3.h>
#include "ts_repo.h"

struct ts_repo_t {
  sqlite3 *db;                  /* the writer thread's once the element
                                   store runs */
  const char *dir, *path;
  ts_repo_meta_t meta;
  apr_pool_t *pool;
};

/* What the repository's file was being used for, each said in a
 * sentence of its own (ts_repo__db_error). */
typedef enum ts_repo_step_t {
  TS_REPO_OPEN, TS_REPO_HEADER, TS_REPO_META_READ, TS_REPO_META_WRITE,
  TS_REPO_SETUP, TS_REPO_SCHEMA, TS_REPO_COPY, TS_REPO_PRODUCT,
  TS_REPO_PREPARE, TS_REPO_LOAD, TS_REPO_BEGIN, TS_REPO_COMMIT,
  TS_REPO_ROLLBACK, TS_REPO_INSERT, TS_REPO_UPDATE, TS_REPO_DELETE
} ts_repo_step_t;

/* SQLite's words for RC on DB (NULL: its words for RC alone), wrapped in
 * what STEP on PATH was. SQLITE_NOTADB and SQLITE_CORRUPT are TS_EINVAL
 * and say how to recover; a full disk says so; the rest TS_EIO. */
ts_error_t *ts_repo__db_error(sqlite3 *db, int rc, const char *path,
                              ts_repo_step_t step);

/* ---- ts_elements_sql.c --------------------------------------------------- */

#include "ts_elements.h"

/* The statements the writer runs, prepared once. */
typedef struct ts_repo_stmts_t {
  sqlite3_stmt *insert, *update, *remove, *begin, *commit, *rollback;
} ts_repo_stmts_t;

ts_error_t *ts_repo__prepare(ts_repo_stmts_t *st, ts_repo_t *repo);
void ts_repo__finalize(ts_repo_stmts_t *st);

/* Call ROW for every element of REPO, by id (E's strings valid for the
 * call; E->children 0); *LAST the highest id ever given (deleted ones
 * too). */
ts_error_t *ts_repo__load(apr_int64_t *last, ts_repo_t *repo,
                          void (*row)(void *baton, const ts_element_t *e),
                          void *baton);

/* Run Q (no rows), one of ST's; STEP for the error. */
ts_error_t *ts_repo__step(ts_repo_t *repo, sqlite3_stmt *q,
                          ts_repo_step_t step);

/* Write E (INSERT when NEW, else UPDATE), or remove element ID. */
ts_error_t *ts_repo__put(ts_repo_t *repo, ts_repo_stmts_t *st,
                         const ts_element_t *e, int is_new);
ts_error_t *ts_repo__remove(ts_repo_t *repo, ts_repo_stmts_t *st,
                            apr_int64_t id);

#endif
