/* win32_util.h: helpers shared by the win32 platform files (not part of
 * the contract): UTF-8 <-> UTF-16 at the API boundary (system.c); the
 * DACL judgement of access.c. A failed Win32 call is an error made with
 * ts_error_aprf(APR_FROM_OS_ERROR(code), ...), whose format the catalog
 * extracts. */
#ifndef WIN32_UTIL_H
#define WIN32_UTIL_H

#include <wchar.h>
#include <windows.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include "ts_error.h"

ts_error_t *tsw_utf8_to_wide(const wchar_t **out, const char *in,
                             apr_pool_t *pool);
ts_error_t *tsw_wide_to_utf8(const char **out, const wchar_t *in,
                             apr_pool_t *pool);

/* access.c, for its tests: the rights of DESIRED (file rights) that DACL
 * grants to a token holding SIDS[0..NSIDS-1], judged as AccessCheck does.
 * With NEW_CHILD, the rights a file created in the directory of DACL
 * would inherit (object-inherit ACEs; CREATOR OWNER counts as the
 * creator). */
DWORD tsw_access_granted(PACL dacl, PSID const *sids, int nsids,
                         DWORD desired, int new_child);

/* The SIDs (of PSID, allocated in POOL) that ACCOUNT's token would hold,
 * and their names ("LOCAL SERVICE, Everyone, ..."). */
ts_error_t *tsw_account_sids(apr_array_header_t **sids, const char **names,
                             const char *account, apr_pool_t *pool);

#endif
