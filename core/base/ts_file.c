/* ts_file.c: whole-file reads and atomic replacement over APR files. */
#include "ts_file.h"

#include <apr_file_io.h>
#include <apr_strings.h>

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

ts_error_t *
ts_dir_make(const char *dir, apr_fileperms_t perms, apr_pool_t *scratch_pool)
{
  apr_status_t s = apr_dir_make_recursive(dir, perms, scratch_pool);

  if (s && !APR_STATUS_IS_EEXIST(s))
    return ts_error_aprf(s, "cannot create the directory %s", dir);
  return NULL;
}

ts_error_t *
ts_file_replace(const char *path, const char *data, apr_size_t len,
                apr_fileperms_t perms, apr_pool_t *scratch_pool)
{
  char *tmpl = apr_pstrcat(scratch_pool, path, ".tmp.XXXXXX", NULL);
  const char *dir;
  apr_file_t *f;
  apr_status_t s;
  apr_size_t written;

  /* No APR_FOPEN_DELONCLOSE: the file must survive its close to be
   * renamed. */
  s = apr_file_mktemp(&f, tmpl, APR_FOPEN_CREATE | APR_FOPEN_WRITE
                      | APR_FOPEN_EXCL | APR_FOPEN_BINARY, scratch_pool);
  if (s)
    return ts_error_aprf(s, "cannot create a temporary file beside %s",
                         path);
  s = apr_file_write_full(f, data, len, &written);
  if (!s)
    s = apr_file_sync(f);
  if (s) {
    apr_file_close(f);
    apr_file_remove(tmpl, scratch_pool);
    return ts_error_aprf(s, "cannot write %s", tmpl);
  }
  s = apr_file_close(f);
  if (s) {
    apr_file_remove(tmpl, scratch_pool);
    return ts_error_aprf(s, "cannot close %s", tmpl);
  }
  s = apr_file_perms_set(tmpl, perms);
  if (s && !APR_STATUS_IS_ENOTIMPL(s)) {
    apr_file_remove(tmpl, scratch_pool);
    return ts_error_aprf(s, "cannot set the permissions of %s", tmpl);
  }
  s = apr_file_rename(tmpl, path, scratch_pool);
  if (s) {
    apr_file_remove(tmpl, scratch_pool);
    return ts_error_aprf(s, "cannot rename %s to %s", tmpl, path);
  }
  s = apr_filepath_merge((char **)&dir, path, "..", APR_FILEPATH_NATIVE,
                         scratch_pool);
  if (s)
    return ts_error_aprf(s, "cannot find the directory of %s", path);
  TS_ERR(tsp_dir_sync(dir, scratch_pool));
  return NULL;
}

const char *
ts_path_join(const char *dir, const char *name, apr_pool_t *pool)
{
  char *path;

  if (apr_filepath_merge(&path, dir, name, APR_FILEPATH_NATIVE, pool))
    return apr_pstrcat(pool, dir, "/", name, NULL);
  return path;
}
