/* ts_models_disk.c: versions on disk: listing, removing, and sweeping up
 * what an interrupted change left (see ts_models.h). */
#include "ts_models_impl.h"

#include <stdlib.h>
#include <string.h>
#include <apr_file_info.h>
#include <apr_strings.h>

#include "ts_file.h"
#include "ts_text.h"
#include "tsp.h"

/* The next entry of D into FI, with its name and type (a link is a
 * link, never what it points to); 0 at the end. */
static int
next_entry(apr_finfo_t *fi, apr_dir_t *d, const char *dir, apr_pool_t *pool)
{
  apr_status_t s;

  do
    s = apr_dir_read(fi, APR_FINFO_NAME | APR_FINFO_TYPE | APR_FINFO_LINK,
                     d);
  while (s == APR_INCOMPLETE && !(fi->valid & APR_FINFO_NAME));
  if (s != APR_SUCCESS && s != APR_INCOMPLETE)
    return 0;
  if (!(fi->valid & APR_FINFO_TYPE)) {
    apr_finfo_t st;
    fi->filetype = apr_stat(&st, ts_path_join(dir, fi->name, pool),
                            APR_FINFO_TYPE | APR_FINFO_LINK, pool)
                   == APR_SUCCESS ? st.filetype : APR_UNKFILE;
  }
  return 1;
}

static int
by_name(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The entries of DIR that are directories (not links), with valid names
 * (DOT: only those beginning with "."), sorted. */
static ts_error_t *
entries(apr_array_header_t **names, const char *dir, int dot,
        apr_pool_t *pool)
{
  apr_dir_t *d;
  apr_finfo_t fi;
  apr_status_t s;

  *names = apr_array_make(pool, 8, sizeof(const char *));
  s = tsp_sys.dir_open(&d, dir, pool);
  if (APR_STATUS_IS_ENOENT(s))
    return NULL;
  if (s)
    return ts_error_aprf(s, "cannot list %s", dir);
  while (next_entry(&fi, d, dir, pool)) {
    if (fi.filetype != APR_DIR || strcmp(fi.name, ".") == 0
        || strcmp(fi.name, "..") == 0)
      continue;
    if (dot ? fi.name[0] == '.' : ts_models_valid_name(fi.name))
      APR_ARRAY_PUSH(*names, const char *) = apr_pstrdup(pool, fi.name);
  }
  apr_dir_close(d);
  qsort((*names)->elts, (size_t)(*names)->nelts, sizeof(const char *),
        by_name);
  return NULL;
}

ts_error_t *
ts_models_subdirs(apr_array_header_t **names, const char *dir,
                  apr_pool_t *pool)
{
  return entries(names, dir, 0, pool);
}

int
ts_version_exists(const char *inoprj, const char *model, const char *version,
                  int read_only, apr_pool_t *pool)
{
  apr_finfo_t fi;

  return ts_models_valid_name(model) && ts_models_valid_name(version)
         && apr_stat(&fi, ts_version_dir(inoprj, model, version, read_only,
                                         pool), APR_FINFO_TYPE | APR_FINFO_LINK,
                     pool) == APR_SUCCESS && fi.filetype == APR_DIR;
}

/* The versions of the models in TOP (ivr or readonly) into OUT. */
static ts_error_t *
list_under(apr_array_header_t *out, const char *inoprj, int read_only,
           apr_pool_t *pool)
{
  apr_array_header_t *models, *versions;
  const char *top = ts_path_join(inoprj, read_only ? TS_MODELS_READONLY_DIR
                                                   : TS_MODELS_DIR, pool);

  TS_ERR(entries(&models, top, 0, pool));
  for (int i = 0; i < models->nelts; i++) {
    const char *model = APR_ARRAY_IDX(models, i, const char *);
    TS_ERR(entries(&versions, ts_path_join(top, model, pool), 0, pool));
    for (int k = 0; k < versions->nelts; k++) {
      ts_version_t *v = apr_array_push(out);
      v->model = model;
      v->version = APR_ARRAY_IDX(versions, k, const char *);
      v->dir = ts_version_dir(inoprj, model, v->version, read_only, pool);
      v->read_only = read_only;
    }
  }
  return NULL;
}

static int
by_version(const void *a, const void *b)
{
  const ts_version_t *x = a, *y = b;
  int c = strcmp(x->model, y->model);

  if (c == 0)
    c = x->read_only - y->read_only;
  return c ? c : strcmp(x->version, y->version);
}

ts_error_t *
ts_versions_list(apr_array_header_t **versions, const char *inoprj,
                 apr_pool_t *pool)
{
  *versions = apr_array_make(pool, 16, sizeof(ts_version_t));
  TS_ERR(list_under(*versions, inoprj, 0, pool));
  TS_ERR(list_under(*versions, inoprj, 1, pool));
  qsort((*versions)->elts, (size_t)(*versions)->nelts, sizeof(ts_version_t),
        by_version);
  return NULL;
}

const char *
ts_models_temp_name(const char *what, const char *name, const char *host,
                    apr_pool_t *pool)
{
  const char *r;

  /* without randomness the pid alone keeps the name this process's */
  ts_error_clear(ts_random_hex(&r, 4, pool));
  return apr_psprintf(pool, ".%s.%s.%s.%ld.%s", what, name, host,
                      tsp_process_self(), r);
}

ts_error_t *
ts_models_remove_tree(const char *dir, apr_pool_t *pool)
{
  apr_dir_t *d;
  apr_finfo_t fi;
  apr_status_t s = tsp_sys.dir_open(&d, dir, pool);

  if (s)
    return APR_STATUS_IS_ENOENT(s) ? NULL
           : ts_error_aprf(s, "cannot remove %s: it cannot be listed", dir);
  while (next_entry(&fi, d, dir, pool)) {
    const char *path;
    if (strcmp(fi.name, ".") == 0 || strcmp(fi.name, "..") == 0)
      continue;
    path = ts_path_join(dir, fi.name, pool);
    if (fi.filetype == APR_DIR) {
      ts_error_t *err = ts_models_remove_tree(path, pool);
      if (err) {
        apr_dir_close(d);
        return err;
      }
    }
    else if ((s = tsp_sys.file_remove(path, pool)) != APR_SUCCESS) {
      apr_dir_close(d);
      return ts_error_aprf(s, "cannot remove %s", path);
    }
  }
  apr_dir_close(d);
  s = apr_dir_remove(dir, pool);
  return s ? ts_error_aprf(s, "cannot remove the directory %s", dir) : NULL;
}

ts_error_t *
ts_version_delete(const char *inoprj, const char *model, const char *version,
                  int read_only, const char *host, apr_pool_t *pool)
{
  const char *dir = ts_version_dir(inoprj, model, version, read_only, pool);
  const char *gone = ts_path_join(ts_models_model_dir(inoprj, model,
                                                      read_only, pool),
                                  ts_models_temp_name("deleted", version,
                                                      host, pool), pool);
  apr_status_t s;

  if (!ts_models_valid_name(model))
    return ts_models_name_error("model", model);
  if (!ts_models_valid_name(version))
    return ts_models_name_error(read_only ? "backup" : "version", version);
  if (!ts_version_exists(inoprj, model, version, read_only, pool))
    return ts_error_createf(TS_ENOENT, "there is no %s %s of the model %s "
                            "(no directory %s)", read_only ? "backup"
                            : "version", version, model, dir);
  /* gone from every listing at once; removed at leisure */
  s = tsp_sys.file_rename(dir, gone, pool);
  if (s)
    return ts_error_aprf(s, "cannot delete %s: it cannot be renamed to %s",
                         dir, gone);
  return ts_models_remove_tree(gone, pool);
}

/* Whether the "." directory NAME was left by a process of HOST that has
 * ended: ".<what>.<name>.<host>.<pid>.<random>". */
static int
left_behind(const char *name, const char *host, apr_pool_t *pool)
{
  const char *random = strrchr(name, '.'), *p;
  const char *tail;
  long pid;

  if (!random || random == name)
    return 0;
  for (p = random - 1; p > name && *p != '.'; p--)
    ;
  pid = strtol(p + 1, NULL, 10);
  tail = apr_pstrcat(pool, ".", host, NULL);
  return p > name && pid > 0 && (size_t)(p - name) > strlen(tail)
         && strncmp(p - strlen(tail), tail, strlen(tail)) == 0
         && !tsp_process_alive(pid);
}

ts_error_t *
ts_models_sweep(int *removed, const char *inoprj, const char *host,
                apr_pool_t *pool)
{
  *removed = 0;
  for (int ro = 0; ro < 2; ro++) {
    apr_array_header_t *models, *dots;
    const char *top = ts_path_join(inoprj, ro ? TS_MODELS_READONLY_DIR
                                              : TS_MODELS_DIR, pool);
    TS_ERR(entries(&models, top, 0, pool));
    for (int i = 0; i < models->nelts; i++) {
      const char *dir = ts_path_join(top, APR_ARRAY_IDX(models, i,
                                                        const char *), pool);
      TS_ERR(entries(&dots, dir, 1, pool));
      for (int k = 0; k < dots->nelts; k++) {
        const char *name = APR_ARRAY_IDX(dots, k, const char *);
        if (!left_behind(name, host, pool))
          continue;
        TS_ERR(ts_models_remove_tree(ts_path_join(dir, name, pool), pool));
        (*removed)++;
      }
    }
  }
  return NULL;
}
