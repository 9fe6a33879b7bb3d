/* ts_local_dir.c: directory settings that must be on a local disk (see
 * ts_settings.h). */
#include "ts_settings.h"

#include <string.h>
#include <apr_strings.h>

#include "tsp.h"

/* NAME's VALUE on a network file system (FS): a sentence for each
 * reason (REFUSE: a Windows service's project directory), with the path
 * it resolved to when that differs. */
static ts_error_t *
remote(const char *name, const char *value, const tsp_fs_info_t *fs,
       int refuse)
{
  int resolved = strcmp(fs->resolved, value) != 0;

  if (refuse && resolved)
    return ts_error_createf(TS_ECONFIG, "%s %s is on a network file system "
      "(%s at %s, resolved to %s): Windows services must not keep project "
      "directories with repositories on network drives (file locks are "
      "unreliable there, and a service does not see a user's mapped "
      "drives); move it to a local disk with `tessera-admin env set %s "
      "<local directory> --scope all`", name, value, fs->fstype, fs->mount,
      fs->resolved, name);
  if (refuse)
    return ts_error_createf(TS_ECONFIG, "%s %s is on a network file system "
      "(%s at %s): Windows services must not keep project directories with "
      "repositories on network drives (file locks are unreliable there, and "
      "a service does not see a user's mapped drives); move it to a local "
      "disk with `tessera-admin env set %s <local directory> --scope all`",
      name, value, fs->fstype, fs->mount, name);
  if (resolved)
    return ts_error_createf(TS_ECONFIG, "%s %s is on a network file system "
      "(%s at %s, resolved to %s): file locks and state files are "
      "unreliable on network file systems; move it to a local disk with "
      "`tessera-admin env set %s <local directory> --scope all`", name,
      value, fs->fstype, fs->mount, fs->resolved, name);
  return ts_error_createf(TS_ECONFIG, "%s %s is on a network file system "
    "(%s at %s): file locks and state files are unreliable on network file "
    "systems; move it to a local disk with `tessera-admin env set %s <local "
    "directory> --scope all`", name, value, fs->fstype, fs->mount, name);
}

ts_error_t *
ts_check_local_dir(const char **warning, const char *name, const char *value,
                   int refuse, apr_pool_t *pool)
{
  tsp_fs_info_t fs;
  ts_error_t *err;

  *warning = NULL;
  TS_ERR_W(tsp_path_fs_info(&fs, value, pool), "cannot tell where %s %s "
           "lives", name, value);
  if (!fs.remote)
    return NULL;
  err = remote(name, value, &fs, refuse);
  if (refuse)
    return err;
  /* a warning is a text, which a server logs: English */
  *warning = apr_pstrdup(pool, ts_error_text(err, pool));
  ts_error_clear(err);
  return NULL;
}
