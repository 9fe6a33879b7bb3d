/* ts_local_dir.c: directory settings that must be on a local disk (see
 * ts_settings.h). */
#include "ts_settings.h"

#include <string.h>
#include <apr_strings.h>

#include "tsp.h"

ts_error_t *
ts_check_local_dir(const char **warning, const char *name, const char *value,
                   int refuse, apr_pool_t *pool)
{
  tsp_fs_info_t fs;
  const char *text;

  *warning = NULL;
  TS_ERR_W(tsp_path_fs_info(&fs, value, pool), "cannot tell where %s %s "
           "lives", name, value);
  if (!fs.remote)
    return NULL;
  text = apr_psprintf(pool, "%s %s is on a network file system (%s at %s%s"
    "%s): %s; move it to a local disk with `tessera-admin env set %s "
    "<local directory> --scope all`", name, value, fs.fstype, fs.mount,
    strcmp(fs.resolved, value) ? ", resolved to " : "",
    strcmp(fs.resolved, value) ? fs.resolved : "",
    refuse ? "Windows services must not keep project directories with "
             "repositories on network drives (file locks are unreliable "
             "there, and a service does not see a user's mapped drives)"
           : "file locks and state files are unreliable on network file "
             "systems", name);
  if (refuse)
    return ts_error_createf(TS_ECONFIG, "%s", text);
  *warning = text;
  return NULL;
}
