/* ts_versions.c: making versions: empty, as successors, as read-only
 * backups; each built in a "." directory and renamed into place once it
 * is whole and on disk (see ts_models.h). The repository inside is
 * ts_repo's. */
#include "ts_models_impl.h"

#include <apr_strings.h>

#include "ts_file.h"
#include "ts_repo.h"
#include "tsp.h"

/* Build a repository in a "." directory beside TARGET with BUILD, then
 * rename it to TARGET. A crash leaves the "." directory (swept later). */
static ts_error_t *
build_then_rename(const char *target, const char *parent, const char *what,
                  const char *name, const char *host, const char *from,
                  const ts_repo_meta_t *meta, apr_pool_t *pool)
{
  const char *tmp;
  apr_finfo_t fi;
  apr_status_t s;
  ts_error_t *err;

  if (apr_stat(&fi, target, APR_FINFO_TYPE | APR_FINFO_LINK, pool)
      == APR_SUCCESS)
    return ts_error_createf(TS_EINVAL, "%s exists already: choose another "
                            "name", target);
  TS_ERR(ts_dir_make(parent, TS_FPROT_DIR, pool));
  tmp = ts_path_join(parent, ts_models_temp_name(what, name, host, pool),
                     pool);
  s = apr_dir_make(tmp, TS_FPROT_DIR, pool);
  if (s)
    return ts_error_aprf(s, "cannot make %s", tmp);
  err = from ? ts_repo_copy(from, tmp, meta, pool)
             : ts_repo_create(tmp, meta, pool);
  if (!err) {
    /* onto a name that exists (another agent was quicker) this fails:
     * a directory that is not empty is never replaced */
    s = tsp_sys.file_rename(tmp, target, pool);
    if (s)
      err = ts_error_aprf(s, "cannot rename %s to %s (another agent may "
                          "have made %s at the same moment)", tmp, target,
                          target);
    else
      err = tsp_sys.dir_sync(parent, pool)
            ? ts_error_createf(TS_EIO, "cannot flush the directory %s to "
                               "disk", parent) : NULL;
  }
  if (err) {
    ts_error_t *undo = ts_models_remove_tree(tmp, pool);
    ts_error_clear(undo);
  }
  return err;
}

ts_error_t *
ts_version_create(const char *inoprj, const ts_model_def_t *def,
                  const char *version, const char *from, const char *host,
                  apr_pool_t *pool)
{
  ts_repo_meta_t meta = { def->model, version, def->product, 0 };

  if (!ts_models_valid_name(version))
    return ts_models_name_error("version", version);
  if (from && !ts_version_exists(inoprj, def->model, from, 0, pool))
    return ts_error_createf(TS_ENOENT, "there is no version %s of the model "
                            "%s to copy (no directory %s); `tessera-admin "
                            "models list` shows the versions", from,
                            def->model, ts_version_dir(inoprj, def->model,
                                                       from, 0, pool));
  return build_then_rename(ts_version_dir(inoprj, def->model, version, 0,
                                          pool),
                           ts_models_model_dir(inoprj, def->model, 0, pool),
                           "new", version, host,
                           from ? ts_version_dir(inoprj, def->model, from, 0,
                                                 pool) : NULL, &meta, pool);
}

ts_error_t *
ts_version_backup(const char *inoprj, const ts_model_def_t *def,
                  const char *version, const char *name, const char *host,
                  apr_pool_t *pool)
{
  ts_repo_meta_t meta = { def->model, name, def->product, 1 };

  if (!ts_models_valid_name(name))
    return ts_models_name_error("backup", name);
  if (!ts_version_exists(inoprj, def->model, version, 0, pool))
    return ts_error_createf(TS_ENOENT, "there is no version %s of the model "
                            "%s to back up; `tessera-admin models list` "
                            "shows the versions", version, def->model);
  return build_then_rename(ts_version_dir(inoprj, def->model, name, 1, pool),
                           ts_models_model_dir(inoprj, def->model, 1, pool),
                           "backup", name, host,
                           ts_version_dir(inoprj, def->model, version, 0,
                                          pool), &meta, pool);
}

ts_error_t *
ts_version_size(apr_off_t *bytes, const char *inoprj, const char *model,
                const char *version, int read_only, apr_pool_t *pool)
{
  return ts_repo_size(bytes, ts_version_dir(inoprj, model, version,
                                            read_only, pool), pool);
}
