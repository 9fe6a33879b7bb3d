/* ts_file.c: whole-file reads and atomic replacement over APR files. */
#include "ts_file.h"

#include <string.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_user.h>

#include "ts_i18n.h"
#include "tsp.h"

ts_error_t *
ts_file_read_all(const char **data, apr_size_t *len, const char *path,
                 apr_pool_t *pool)
{
  apr_file_t *f;
  apr_finfo_t fi;
  apr_status_t s;
  char *buf;
  apr_size_t got;

  s = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY,
                    APR_FPROT_OS_DEFAULT, pool);
  if (s)
    return ts_error_aprf(s, "cannot open %s for reading", path);
  s = apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_TYPE, f);
  if (!s && fi.filetype != APR_REG)
    s = APR_EINVAL;
  if (s) {
    apr_file_close(f);
    return ts_error_aprf(s, "%s is not a regular file", path);
  }
  buf = apr_palloc(pool, (apr_size_t)fi.size + 1);
  s = apr_file_read_full(f, buf, (apr_size_t)fi.size, &got);
  apr_file_close(f);
  if (s && !APR_STATUS_IS_EOF(s))
    return ts_error_aprf(s, "cannot read %s", path);
  buf[got] = '\0';
  *data = buf;
  *len = got;
  return NULL;
}

/* The directory PATH is in, without a trailing separator (but "/" or
 * "C:\\"). */
static const char *
dir_of(const char *path, apr_pool_t *pool)
{
  char *dir;
  size_t n;

  /* a bare name ("vendor.key") merges to "": the current directory */
  if (apr_filepath_merge(&dir, path, "..", APR_FILEPATH_NATIVE, pool)
      || !*dir)
    return ".";
  n = strlen(dir);
  while (n > 1 && (dir[n - 1] == '/' || dir[n - 1] == '\\')
         && !(n == 3 && dir[1] == ':'))
    dir[--n] = '\0';
  return dir;
}

/* The nearest directory at or above PATH that exists. */
static const char *
existing_ancestor(const char *path, apr_pool_t *pool)
{
  apr_finfo_t fi;

  for (int depth = 0; depth < 64; depth++) {
    const char *up;
    if (apr_stat(&fi, path, APR_FINFO_TYPE, pool) == APR_SUCCESS)
      return path;
    up = dir_of(path, pool);
    if (strcmp(up, path) == 0)
      break;
    path = up;
  }
  return path;
}

const char *
ts_account_name(apr_pool_t *pool)
{
  apr_uid_t uid;
  apr_gid_t gid;
  char *name;

  if (apr_uid_current(&uid, &gid, pool) == APR_SUCCESS
      && apr_uid_name_get(&name, uid, pool) == APR_SUCCESS)
    return name;
  return NULL;
}

/* What to do about S, a failure to write in DIR: an error of its own,
 * "why; what to do", which the message about the write wraps (the
 * system's text for S follows it), or NULL when there is nothing
 * particular to say. */
static ts_error_t *
advice(apr_status_t s, const char *dir, apr_pool_t *pool)
{
  const char *who;

  if (APR_STATUS_IS_ENOSPC(s))
    return ts_error_aprf(s, "the disk holding %s is full; free space on it "
                         "(or move the directory to a disk with room), then "
                         "try again", dir);
  if (!APR_STATUS_IS_EACCES(s))
    return NULL;
  who = ts_account_name(pool);
  if (!who)
    return ts_error_aprf(s, "permission denied; give the account this "
                         "program runs as write access to %s, or run this "
                         "as an account that has it", dir);
  return ts_error_aprf(s, "permission denied; give the account %s write "
                       "access to %s, or run this as an account that has it",
                       who, dir);
}

/* The error for S, the failed write the format says, around ADVICE (or
 * with S's text when there is no advice). Formats are marked with N_()
 * for the catalog. */
#define WRITE_FAILED(s, advice, ...)                        \
  ((advice) ? ts_error_wrapf((advice), __VA_ARGS__)         \
            : ts_error_aprf((s), __VA_ARGS__))

ts_error_t *
ts_dir_make(const char *dir, apr_fileperms_t perms, apr_pool_t *scratch_pool)
{
  apr_status_t s = tsp_sys.dir_make_recursive(dir, perms, scratch_pool);
  ts_error_t *why;

  if (!s || APR_STATUS_IS_EEXIST(s))
    return NULL;
  why = advice(s, existing_ancestor(dir, scratch_pool), scratch_pool);
  return WRITE_FAILED(s, why, N_("cannot create the directory %s"), dir);
}

/* The steps of an atomic write. */
enum { STEP_CREATE, STEP_WRITE, STEP_SYNC, STEP_CLOSE, STEP_PERMS,
       STEP_RENAME };

/* The failure S of STEP of writing PATH through TMPL, in DIR: one whole
 * sentence for each step. */
static ts_error_t *
write_error(int step, apr_status_t s, const char *path, const char *tmpl,
            const char *dir, apr_pool_t *pool)
{
  ts_error_t *why = advice(s, dir, pool);

  switch (step) {
  case STEP_CREATE:
    return WRITE_FAILED(s, why, N_("cannot write %s (creating the temporary "
                                   "file %s failed; %s is unchanged)"),
                        path, tmpl, path);
  case STEP_WRITE:
    return WRITE_FAILED(s, why, N_("cannot write %s (writing %s failed; %s "
                                   "is unchanged)"), path, tmpl, path);
  case STEP_SYNC:
    return WRITE_FAILED(s, why, N_("cannot write %s (flushing %s to disk "
                                   "failed; %s is unchanged)"), path, tmpl,
                        path);
  case STEP_CLOSE:
    return WRITE_FAILED(s, why, N_("cannot write %s (closing %s failed; %s "
                                   "is unchanged)"), path, tmpl, path);
  case STEP_PERMS:
    return WRITE_FAILED(s, why, N_("cannot write %s (setting the permissions "
                                   "of %s failed; %s is unchanged)"), path,
                        tmpl, path);
  default:
    return WRITE_FAILED(s, why, N_("cannot write %s (renaming %s over it "
                                   "failed; %s is unchanged)"), path, tmpl,
                        path);
  }
}

/* Write DATA to the new file TMPL (a template: mktemp fills it in) beside
 * PATH and rename it over PATH; on failure *STEP is the step that failed
 * and the new file is gone. */
static apr_status_t
write_and_rename(int *step, char *tmpl, const char *path, const char *data,
                 apr_size_t len, apr_fileperms_t perms, apr_pool_t *pool)
{
  apr_file_t *f;
  apr_status_t s, cs;

  /* No APR_FOPEN_DELONCLOSE: the file must survive its close to be
   * renamed. */
  *step = STEP_CREATE;
  s = tsp_sys.file_mktemp(&f, tmpl, APR_FOPEN_CREATE | APR_FOPEN_WRITE
                          | APR_FOPEN_EXCL | APR_FOPEN_BINARY, pool);
  if (s)
    return s;
  *step = STEP_WRITE;
  s = tsp_sys.file_write_full(f, data, len, NULL);
  if (!s) {
    *step = STEP_SYNC;
    s = tsp_sys.file_sync(f);
  }
  cs = tsp_sys.file_close(f);
  if (!s && cs) {
    *step = STEP_CLOSE;
    s = cs;
  }
  if (!s) {
    *step = STEP_PERMS;
    s = tsp_sys.file_perms_set(tmpl, perms);
    if (APR_STATUS_IS_ENOTIMPL(s))
      s = APR_SUCCESS;
  }
  if (!s) {
    *step = STEP_RENAME;
    s = tsp_sys.file_rename(tmpl, path, pool);
  }
  if (s)
    tsp_sys.file_remove(tmpl, pool);
  return s;
}

ts_error_t *
ts_file_replace(const char *path, const char *data, apr_size_t len,
                apr_fileperms_t perms, apr_pool_t *scratch_pool)
{
  char *tmpl = apr_pstrcat(scratch_pool, path, ".tmp.XXXXXX", NULL);
  const char *dir = dir_of(path, scratch_pool);
  int step;
  apr_status_t s = write_and_rename(&step, tmpl, path, data, len, perms,
                                    scratch_pool);
  ts_error_t *why;

  if (s)
    return write_error(step, s, path, tmpl, dir, scratch_pool);
  s = tsp_sys.dir_sync(dir, scratch_pool);
  if (!s)
    return NULL;
  why = advice(s, dir, scratch_pool);
  return WRITE_FAILED(s, why, N_("cannot flush the directory %s to disk "
                                 "after replacing %s"), dir, path);
}

const char *
ts_path_join(const char *dir, const char *name, apr_pool_t *pool)
{
  char *path;

  if (apr_filepath_merge(&path, dir, name, APR_FILEPATH_NATIVE, pool))
    return apr_pstrcat(pool, dir, "/", name, NULL);
  return path;
}
