/* ts_repo.c: the repository on disk (see ts_repo.h): making one, copying
 * one while it is served, its meta, its size, and opening it for the
 * model server. */
#include "ts_repo_impl.h"

#include <string.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "ts_file.h"
#include "ts_log.h"
#include "tsp.h"

/* "TsR1": what tells a repository from another SQLite file. */
#define APPLICATION_ID 1416909361
#define FORMAT "1"

#define SCHEMA \
  "PRAGMA application_id = 1416909361; PRAGMA user_version = 1;" \
  "BEGIN IMMEDIATE;" \
  "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)" \
  " WITHOUT ROWID;" \
  "CREATE TABLE elements (id INTEGER PRIMARY KEY AUTOINCREMENT," \
  " type TEXT NOT NULL, name TEXT NOT NULL, parent INTEGER," \
  " revision INTEGER NOT NULL, properties TEXT NOT NULL);"

int
ts_repo_valid_name(const char *name)
{
  size_t n = name ? strlen(name) : 0;

  return n >= 1 && n <= 128
         && strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789._-") == n;
}

/* Why RC on DB failed. */
static ts_error_t *
why(sqlite3 *db, int rc)
{
  int primary = rc & 0xff;
  const char *words = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);

  if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT)
    return ts_error_createf(TS_EINVAL, "the file is not a repository or is "
                            "damaged (%s, SQLite %d); restore the version "
                            "from a backup (readonly/<model>/...) or create "
                            "a new one with `tessera-admin models create`",
                            words, rc);
  if (primary == SQLITE_FULL)
    return ts_error_createf(TS_EIO, "the disk is full (SQLite %d); make "
                            "room and try again", rc);
  return ts_error_createf(TS_EIO, "%s (SQLite %d); check that the file and "
                          "its directory exist and that this account may "
                          "read and write them", words, rc);
}

ts_error_t *
ts_repo__db_error(sqlite3 *db, int rc, const char *path,
                  ts_repo_step_t step)
{
  ts_error_t *cause = why(db, rc);

  switch (step) {
  case TS_REPO_OPEN:
    return ts_error_wrapf(cause, "opening %s failed", path);
  case TS_REPO_HEADER:
    return ts_error_wrapf(cause, "reading the header of %s failed", path);
  case TS_REPO_META_READ:
    return ts_error_wrapf(cause, "reading the meta of %s failed", path);
  case TS_REPO_META_WRITE:
    return ts_error_wrapf(cause, "writing the meta of %s failed", path);
  case TS_REPO_SETUP:
    return ts_error_wrapf(cause, "setting up %s (WAL, synchronous) failed",
                          path);
  case TS_REPO_SCHEMA:
    return ts_error_wrapf(cause, "creating the tables of %s failed", path);
  case TS_REPO_COPY:
    return ts_error_wrapf(cause, "copying %s failed", path);
  case TS_REPO_PRODUCT:
    return ts_error_wrapf(cause, "changing the product of %s failed", path);
  case TS_REPO_PREPARE:
    return ts_error_wrapf(cause, "preparing the statements on %s failed",
                          path);
  case TS_REPO_LOAD:
    return ts_error_wrapf(cause, "reading the elements of %s failed", path);
  case TS_REPO_BEGIN:
    return ts_error_wrapf(cause, "starting a transaction on %s failed",
                          path);
  case TS_REPO_COMMIT:
    return ts_error_wrapf(cause, "committing changes to %s failed", path);
  case TS_REPO_ROLLBACK:
    return ts_error_wrapf(cause, "rolling back changes to %s failed", path);
  case TS_REPO_INSERT:
    return ts_error_wrapf(cause, "writing a new element to %s failed",
                          path);
  case TS_REPO_UPDATE:
    return ts_error_wrapf(cause, "writing a changed element to %s failed",
                          path);
  case TS_REPO_DELETE:
    break;
  }
  return ts_error_wrapf(cause, "removing an element from %s failed", path);
}

static const char *
db_path(const char *dir, apr_pool_t *pool)
{
  return ts_path_join(dir, TS_REPO_DB, pool);
}

/* Open PATH with FLAGS; *DB is NULL after an error. */
static ts_error_t *
open_db(sqlite3 **db, const char *path, int flags)
{
  int rc = sqlite3_open_v2(path, db, flags | SQLITE_OPEN_NOMUTEX, NULL);

  if (rc != SQLITE_OK) {
    ts_error_t *err = ts_repo__db_error(*db, rc, path, TS_REPO_OPEN);
    sqlite3_close(*db);
    *db = NULL;
    return err;
  }
  sqlite3_busy_timeout(*db, 5000);
  sqlite3_extended_result_codes(*db, 1);
  return NULL;
}

static ts_error_t *
exec(sqlite3 *db, const char *sql, const char *path, ts_repo_step_t step)
{
  int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

  return rc == SQLITE_OK ? NULL : ts_repo__db_error(db, rc, path, step);
}

/* The first column of the one row SQL gives, as an integer. */
static ts_error_t *
query_int(long *value, sqlite3 *db, const char *sql, const char *path)
{
  sqlite3_stmt *q;
  int rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);

  if (rc == SQLITE_OK) {
    rc = sqlite3_step(q);
    *value = rc == SQLITE_ROW ? (long)sqlite3_column_int64(q, 0) : 0;
    rc = rc == SQLITE_ROW ? SQLITE_OK : rc;
  }
  sqlite3_finalize(q);
  return rc == SQLITE_OK ? NULL : ts_repo__db_error(db, rc, path,
                                                    TS_REPO_HEADER);
}

/* DB (PATH) is a repository of this format. */
static ts_error_t *
check_identity(sqlite3 *db, const char *path)
{
  long app, version;

  TS_ERR(query_int(&app, db, "PRAGMA application_id", path));
  TS_ERR(query_int(&version, db, "PRAGMA user_version", path));
  if (app != APPLICATION_ID)
    return ts_error_createf(TS_EINVAL, "%s is an SQLite database but not a "
                            "Tessera repository (application_id %ld); a "
                            "version's directory holds the repository.db "
                            "its model server made: create one with "
                            "`tessera-admin models create`", path, app);
  if (version != 1)
    return ts_error_createf(TS_EINVAL, "%s is a repository of format %ld, "
                            "which this release of Tessera does not read "
                            "(it reads format 1): serve it with the release "
                            "that made it", path, version);
  return NULL;
}

/* *DB open on DIR's repository (FLAGS), its identity checked. A missing
 * file is TS_ENOENT saying how to make one. */
static ts_error_t *
open_repo(sqlite3 **db, const char **path, const char *dir, int flags,
          apr_pool_t *pool)
{
  apr_finfo_t fi;
  ts_error_t *err;

  *path = db_path(dir, pool);
  if (apr_stat(&fi, *path, APR_FINFO_TYPE, pool) != APR_SUCCESS
      || fi.filetype != APR_REG)
    return ts_error_createf(TS_ENOENT, "%s is not a repository: it has no "
                            "%s; create a version with `tessera-admin "
                            "models create`", dir, TS_REPO_DB);
  TS_ERR(open_db(db, *path, flags));
  err = check_identity(*db, *path);
  if (err) {
    sqlite3_close(*db);
    *db = NULL;
  }
  return err;
}

/* The meta of DB into META (strings in POOL). */
static ts_error_t *
read_meta(ts_repo_meta_t *meta, sqlite3 *db, const char *path,
          apr_pool_t *pool)
{
  sqlite3_stmt *q;
  int rc = sqlite3_prepare_v2(db, "SELECT key, value FROM meta", -1, &q,
                              NULL);

  memset(meta, 0, sizeof(*meta));
  while (rc == SQLITE_OK || rc == SQLITE_ROW) {
    const char *key, *value;
    if ((rc = sqlite3_step(q)) != SQLITE_ROW)
      break;
    key = (const char *)sqlite3_column_text(q, 0);
    value = apr_pstrdup(pool, (const char *)sqlite3_column_text(q, 1));
    if (strcmp(key, "model") == 0)
      meta->model = value;
    else if (strcmp(key, "version") == 0)
      meta->version = value;
    else if (strcmp(key, "product") == 0)
      meta->product = value;
    else if (strcmp(key, "read_only") == 0)
      meta->read_only = strcmp(value, "1") == 0;
  }
  sqlite3_finalize(q);
  if (rc != SQLITE_DONE)
    return ts_repo__db_error(db, rc, path, TS_REPO_META_READ);
  if (!meta->model || !meta->version || !meta->product)
    return ts_error_createf(TS_EINVAL, "%s lacks its model, version or "
                            "product in its meta table: it is damaged; "
                            "restore the version from a backup", path);
  return NULL;
}

/* Names and product of META, valid. */
static ts_error_t *
check_meta(const ts_repo_meta_t *meta)
{
  if (!ts_repo_valid_name(meta->model) || !ts_repo_valid_name(meta->version)
      || !ts_repo_valid_name(meta->product))
    return ts_error_createf(TS_EINVAL, "invalid repository meta: model "
                            "'%s', version '%s' and product '%s' must each "
                            "be 1..128 of A-Z a-z 0-9 . _ -",
                            meta->model ? meta->model : "",
                            meta->version ? meta->version : "",
                            meta->product ? meta->product : "");
  return NULL;
}

/* Replace DB's meta with META, in the transaction the caller opened. */
static ts_error_t *
write_meta(sqlite3 *db, const char *path, const ts_repo_meta_t *meta,
           apr_pool_t *pool)
{
  char stamp[32];
  const char *const pairs[] = {
    "format", FORMAT, "model", meta->model, "version", meta->version,
    "product", meta->product, "read_only", meta->read_only ? "1" : "0",
    "created", stamp, NULL
  };
  sqlite3_stmt *q;
  int rc;

  ts_log_stamp(stamp, apr_time_now());
  rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                          -1, &q, NULL);
  for (int i = 0; rc == SQLITE_OK && pairs[i]; i += 2) {
    sqlite3_bind_text(q, 1, pairs[i], -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, pairs[i + 1], -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    sqlite3_reset(q);
  }
  sqlite3_finalize(q);
  (void)pool;
  return rc == SQLITE_OK ? NULL : ts_repo__db_error(db, rc, path,
                                                    TS_REPO_META_WRITE);
}

/* The database file of DIR and DIR itself on disk: a closed database
 * (SQLite checkpointed and removed its WAL) survives a power loss once
 * this returns. */
static ts_error_t *
sync_dir(const char *dir, apr_pool_t *pool)
{
  const char *path = db_path(dir, pool);
  apr_file_t *f;
  apr_status_t s = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_WRITE,
                                 APR_OS_DEFAULT, pool);

  if (!s) {
    s = tsp_sys.file_sync(f);
    apr_file_close(f);
  }
  if (!s)
    s = tsp_sys.dir_sync(dir, pool);
  return s ? ts_error_aprf(s, "cannot flush %s to disk", path) : NULL;
}

/* Settings of a connection that writes: WAL, and every commit on disk
 * before it returns. */
static ts_error_t *
durable(sqlite3 *db, const char *path)
{
  TS_ERR(exec(db, "PRAGMA journal_mode=WAL", path, TS_REPO_SETUP));
  return exec(db, "PRAGMA synchronous=FULL", path, TS_REPO_SETUP);
}

/* Make DIR's database with META, in DB (open on PATH). */
static ts_error_t *
fill_new(sqlite3 *db, const char *path, const ts_repo_meta_t *meta,
         apr_pool_t *pool)
{
  TS_ERR(durable(db, path));
  TS_ERR(exec(db, SCHEMA, path, TS_REPO_SCHEMA));
  TS_ERR(write_meta(db, path, meta, pool));
  return exec(db, "COMMIT", path, TS_REPO_COMMIT);
}

ts_error_t *
ts_repo_create(const char *dir, const ts_repo_meta_t *meta,
               apr_pool_t *pool)
{
  const char *path = db_path(dir, pool);
  apr_finfo_t fi;
  sqlite3 *db;
  ts_error_t *err;

  TS_ERR(check_meta(meta));
  if (apr_stat(&fi, path, APR_FINFO_TYPE, pool) == APR_SUCCESS)
    return ts_error_createf(TS_EINVAL, "cannot create a repository in %s: "
                            "it has one already", dir);
  TS_ERR_W(open_db(&db, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE),
           "cannot create a repository in %s", dir);
  err = fill_new(db, path, meta, pool);
  sqlite3_close(db);
  if (err) {
    apr_file_remove(path, pool);
    return ts_error_wrapf(err, "cannot create a repository in %s", dir);
  }
  return sync_dir(dir, pool);
}

/* VACUUM INTO the copy's file: a snapshot of one read transaction, so a
 * server writing meanwhile changes nothing in it. */
static ts_error_t *
snapshot(sqlite3 *db, const char *path, const char *into)
{
  sqlite3_stmt *q;
  int rc = sqlite3_prepare_v2(db, "VACUUM INTO ?", -1, &q, NULL);

  if (rc == SQLITE_OK) {
    sqlite3_bind_text(q, 1, into, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
  }
  sqlite3_finalize(q);
  return rc == SQLITE_OK ? NULL : ts_repo__db_error(db, rc, path,
                                                    TS_REPO_COPY);
}

/* The copy INTO (in DIR), made WAL with META. */
static ts_error_t *
finish_copy(const char *into, const ts_repo_meta_t *meta, apr_pool_t *pool)
{
  sqlite3 *db;
  ts_error_t *err;

  TS_ERR(open_db(&db, into, SQLITE_OPEN_READWRITE));
  err = durable(db, into);
  if (!err)
    err = exec(db, "BEGIN IMMEDIATE", into, TS_REPO_BEGIN);
  if (!err)
    err = write_meta(db, into, meta, pool);
  if (!err)
    err = exec(db, "COMMIT", into, TS_REPO_COMMIT);
  sqlite3_close(db);
  return err;
}

ts_error_t *
ts_repo_copy(const char *from, const char *to, const ts_repo_meta_t *meta,
             apr_pool_t *pool)
{
  const char *path, *into = db_path(to, pool);
  sqlite3 *db;
  ts_error_t *err;

  TS_ERR(check_meta(meta));
  TS_ERR_W(open_repo(&db, &path, from, SQLITE_OPEN_READONLY, pool),
           "cannot copy the repository %s", from);
  err = snapshot(db, path, into);
  sqlite3_close(db);
  if (!err)
    err = finish_copy(into, meta, pool);
  if (!err)
    err = sync_dir(to, pool);
  if (err) {
    apr_file_remove(into, pool);
    return ts_error_wrapf(err, "cannot copy the repository %s to %s", from,
                          to);
  }
  return NULL;
}

ts_error_t *
ts_repo_read_meta(ts_repo_meta_t *meta, const char *dir, apr_pool_t *pool)
{
  const char *path;
  sqlite3 *db;
  ts_error_t *err;

  TS_ERR(open_repo(&db, &path, dir, SQLITE_OPEN_READONLY, pool));
  err = read_meta(meta, db, path, pool);
  sqlite3_close(db);
  return err;
}

ts_error_t *
ts_repo_set_product(const char *dir, const char *product, apr_pool_t *pool)
{
  const char *path;
  sqlite3 *db;
  sqlite3_stmt *q;
  int rc;
  ts_error_t *err;

  if (!ts_repo_valid_name(product))
    return ts_error_createf(TS_EINVAL, "invalid product '%s': 1..128 of "
                            "A-Z a-z 0-9 . _ -", product ? product : "");
  TS_ERR(open_repo(&db, &path, dir, SQLITE_OPEN_READWRITE, pool));
  err = durable(db, path);
  rc = sqlite3_prepare_v2(db, "UPDATE meta SET value = ? WHERE key = "
                          "'product'", -1, &q, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(q, 1, product, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
  }
  sqlite3_finalize(q);
  if (!err && rc != SQLITE_OK)
    err = ts_repo__db_error(db, rc, path, TS_REPO_PRODUCT);
  sqlite3_close(db);
  return err;
}

ts_error_t *
ts_repo_size(apr_off_t *bytes, const char *dir, apr_pool_t *pool)
{
  static const char *const suffixes[] = { "", "-wal", "-shm", NULL };
  const char *path = db_path(dir, pool);

  *bytes = 0;
  for (int i = 0; suffixes[i]; i++) {
    apr_finfo_t fi;
    const char *p = apr_pstrcat(pool, path, suffixes[i], NULL);
    apr_status_t s = apr_stat(&fi, p, APR_FINFO_SIZE, pool);

    if (s == APR_SUCCESS)
      *bytes += fi.size;
    else if (i == 0)
      return APR_STATUS_IS_ENOENT(s)
             ? ts_error_createf(TS_ENOENT, "%s is not a repository: it has "
                                "no %s; create a version with "
                                "`tessera-admin models create`", dir,
                                TS_REPO_DB)
             : ts_error_aprf(s, "cannot read the size of %s", p);
  }
  return NULL;
}

/* ---- an open repository -------------------------------------------------- */

ts_error_t *
ts_repo_open(ts_repo_t **repo_p, const char *dir, int read_only,
             apr_pool_t *pool)
{
  ts_repo_t *repo = apr_pcalloc(pool, sizeof(*repo));
  ts_error_t *err;

  repo->dir = apr_pstrdup(pool, dir);
  repo->pool = pool;
  TS_ERR(open_repo(&repo->db, &repo->path, dir, SQLITE_OPEN_READWRITE,
                   pool));
  err = durable(repo->db, repo->path);
  if (!err)
    err = read_meta(&repo->meta, repo->db, repo->path, pool);
  if (err) {
    sqlite3_close(repo->db);
    return err;
  }
  repo->meta.read_only |= read_only;
  *repo_p = repo;
  return NULL;
}

const ts_repo_meta_t *
ts_repo_meta(const ts_repo_t *repo)
{
  return &repo->meta;
}

const char *
ts_repo_path(const ts_repo_t *repo)
{
  return repo->path;
}

void
ts_repo_close(ts_repo_t *repo)
{
  if (repo && repo->db) {
    sqlite3_close(repo->db);
    repo->db = NULL;
  }
}
