/* win32_util.h: helpers shared by the win32 platform files (not part of
 * the contract): UTF-8 <-> UTF-16 at the API boundary, and Win32 error
 * codes turned into Tessera errors. Implemented in system.c. */
#ifndef WIN32_UTIL_H
#define WIN32_UTIL_H

#include <wchar.h>
#include <apr_pools.h>
#include "ts_error.h"

ts_error_t *tsw_utf8_to_wide(const wchar_t **out, const char *in,
                             apr_pool_t *pool);
ts_error_t *tsw_wide_to_utf8(const char **out, const wchar_t *in,
                             apr_pool_t *pool);

/* An error for the failed Win32 call described by FMT, with the system's
 * text for CODE (a GetLastError()/LSTATUS value). */
ts_error_t *tsw_error(unsigned long code, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

#endif
