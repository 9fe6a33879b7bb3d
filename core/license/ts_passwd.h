/* ts_passwd.h: the license server administrator's password (SPEC §6).
 *
 * Unset on delivery. `tessera-admin license passwd` sets it on the
 * license-server machine: an Argon2id hash (libsodium's crypto_pwhash_str,
 * its "interactive" limits) in INOLIC/admin.passwd, written atomically and
 * readable by its owner only. The server reads the file at each check, so
 * a new password applies without a restart. Requests that change things
 * carry it with HTTP Basic authentication; the user name is who acts, as
 * written to the audit log.
 */
#ifndef TS_PASSWD_H
#define TS_PASSWD_H

#include <apr_pools.h>
#include <apr_time.h>
#include "ts_error.h"

#define TS_PASSWD_MIN 8
#define TS_PASSWD_MAX_CHECKS 1
#define TS_PASSWD_FREE 3
#define TS_PASSWD_MAX_WAIT 300

/* INOLIC/admin.passwd */
const char *ts_passwd_path(const char *inolic, apr_pool_t *pool);

/* Hash PASSWORD and store it in PATH. A password shorter than
 * TS_PASSWD_MIN characters is TS_EINVAL; nothing is written then. */
ts_error_t *ts_passwd_set(const char *path, const char *password,
                          apr_pool_t *pool);

/* Whether a password is set in PATH. */
int ts_passwd_is_set(const char *path, apr_pool_t *pool);

typedef struct ts_passwd_guard_t ts_passwd_guard_t;

/* A guard for one server's checks (threads: any). */
ts_passwd_guard_t *ts_passwd_guard_create(apr_pool_t *pool);

typedef struct ts_passwd_stats_t {
  apr_uint64_t wrong;         /* wrong passwords */
  apr_uint64_t backoff;       /* refused: the client waits after wrong
                                 passwords */
  apr_uint64_t busy;          /* refused: TS_PASSWD_MAX_CHECKS running */
} ts_passwd_stats_t;

void ts_passwd_guard_stats(ts_passwd_stats_t *stats,
                           ts_passwd_guard_t *guard);

/* Check the HTTP Authorization header AUTHORIZATION (NULL: none) against
 * PATH for the client address CLIENT, under GUARD. On success *WHO gets
 * the user name given (UTF-8 text without control characters; another
 * name is refused). Errors: TS_ECONFIG when no password is set yet,
 * TS_EPERM for missing or wrong credentials, TS_EUNAVAIL when the guard
 * refused to check now (*RETRY_AFTER: in how many seconds to try again);
 * the message says what to do. */
ts_error_t *ts_passwd_check(const char **who, int *retry_after,
                            ts_passwd_guard_t *guard, const char *path,
                            const char *authorization, const char *client,
                            apr_pool_t *pool);

#endif
