/* ts_repo.h: a model repository on disk: the directory a version of a
 * managed model is (INOPRJ/ivr/<model>/<version>/, a backup under
 * readonly/), holding TS_REPO_DB, one SQLite database:
 *
 *   meta(key, value)      format "1", model, version, product,
 *                         read_only "0"|"1", created (ISO 8601)
 *   elements(id, type, name, parent, revision, properties)
 *
 * in WAL mode with synchronous=FULL: a commit is on disk (the WAL
 * fsync'ed) before the call that made it returns, so neither a crash of
 * the model server (kill -9) nor of the machine loses a change that was
 * answered. The file carries application_id 0x54735231 ("TsR1") and
 * user_version 1: another SQLite file is told apart from a repository.
 * The elements table has no index but its primary key: the model server
 * holds every element in memory (ts_elements.h) and reads nothing from
 * the file after its start, so a change costs one b-tree's pages.
 *
 * Names (model, version): 1..128 of A-Z a-z 0-9 . _ -. Errors name the
 * path and say why and how to fix it.
 */
#ifndef TS_REPO_H
#define TS_REPO_H

#include <apr_file_info.h>
#include <apr_pools.h>
#include "ts_error.h"

typedef struct ts_repo_meta_t {
  const char *model, *version;  /* names: 1..128 of A-Z a-z 0-9 . _ - */
  const char *product;          /* whose seats its sessions take */
  int read_only;                /* a backup, or opened read-only */
} ts_repo_meta_t;

#define TS_REPO_DB "repository.db"

/* Make an empty repository in DIR (which exists and is empty). Durable
 * (fsync of file and directory) when it returns. Invalid names in META
 * are TS_EINVAL. */
ts_error_t *ts_repo_create(const char *dir, const ts_repo_meta_t *meta,
                           apr_pool_t *pool);

/* Copy the repository FROM (which may be served right now: a consistent
 * snapshot, VACUUM INTO) into TO (exists, empty), with META replacing the
 * copy's meta; durable when it returns. */
ts_error_t *ts_repo_copy(const char *from, const char *to,
                         const ts_repo_meta_t *meta, apr_pool_t *pool);

/* The meta of the repository in DIR. Not a repository: TS_ENOENT (no
 * TS_REPO_DB) or TS_EINVAL (a file that is not one, or damaged). */
ts_error_t *ts_repo_read_meta(ts_repo_meta_t *meta, const char *dir,
                              apr_pool_t *pool);

/* Change the product of a repository that is not served (the agent does
 * this before a start when the managed model's product changed). */
ts_error_t *ts_repo_set_product(const char *dir, const char *product,
                                apr_pool_t *pool);

/* Bytes the repository's files take on disk (db + wal + shm). */
ts_error_t *ts_repo_size(apr_off_t *bytes, const char *dir,
                         apr_pool_t *pool);

/* Whether NAME is a valid model or version name. */
int ts_repo_valid_name(const char *name);

/* ---- an open repository (the model server's) ----------------------------- */

typedef struct ts_repo_t ts_repo_t;

/* Open the repository in DIR to serve it: *REPO, its meta (read_only set
 * when the meta says so or READ_ONLY asks for it). Errors as
 * ts_repo_read_meta's. Close it with ts_repo_close(); the element store
 * (ts_elements.h) reads and writes through it. */
ts_error_t *ts_repo_open(ts_repo_t **repo, const char *dir, int read_only,
                         apr_pool_t *pool);

const ts_repo_meta_t *ts_repo_meta(const ts_repo_t *repo);

/* The database file's path, for messages. */
const char *ts_repo_path(const ts_repo_t *repo);

void ts_repo_close(ts_repo_t *repo);

#endif
