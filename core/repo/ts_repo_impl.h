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

/* SQLite's words for RC on DB, wrapped in "WHAT in PATH failed" (WHAT an
 * English phrase: "reading the elements"). SQLITE_NOTADB and
 * SQLITE_CORRUPT are TS_EINVAL and say how to recover; the rest TS_EIO. */
ts_error_t *ts_repo__db_error(sqlite3 *db, int rc, const char *path,
                              const char *what);

/* ---- ts_elements_sql.c ------------------------------------------------- */

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

/* Run ST's BEGIN, COMMIT or ROLLBACK (Q); WHAT for the error. */
ts_error_t *ts_repo__step(ts_repo_t *repo, sqlite3_stmt *q,
                          const char *what);

/* Write E (INSERT when NEW, else UPDATE), or remove element ID. */
ts_error_t *ts_repo__put(ts_repo_t *repo, ts_repo_stmts_t *st,
                         const ts_element_t *e, int is_new);
ts_error_t *ts_repo__remove(ts_repo_t *repo, ts_repo_stmts_t *st,
                            apr_int64_t id);

#endif
