/* access.c (win32): what an account may do in a directory tree. Not yet:
 * it will read each DACL with GetEffectiveRightsFromAclW (or
 * AuthzAccessCheck) for the account's SID. */
#include "tsp.h"

ts_error_t *
tsp_access_scan(tsp_access_report_t **report, const char *dir,
                const char *account, const char *const *probe_dirs,
                apr_pool_t *pool)
{
  (void)report;
  (void)probe_dirs;
  (void)pool;
  return ts_error_createf(TS_EUNAVAIL, "checking %s as the account '%s' is "
                          "not available on Windows yet", dir, account);
}
