/* ts_credential.h: the server credential: how Tessera's servers prove to
 * each other that they are Tessera's (SPEC §6; a stranger who reaches a
 * port must not register a model server or a proxy, free seats, or
 * publish on the bus).
 *
 * One secret per installation: 32 random bytes in INODIR/server.key
 * (base64, one line), created on first use (`tessera-admin service
 * install`, the first server start, or `tessera-admin credential init`)
 * with owner-only permissions; on Linux the service account owns it. A
 * second machine's servers get a copy of the same file (INODIR is the
 * shared parameter directory; or copy it, keeping it owner-only).
 *
 * The key itself never crosses the network. What servers send, and what
 * the bus accepts, are keys derived from it with a purpose (HMAC-SHA-256
 * of the purpose under the key, base64):
 *   ts_credential_derive(cred, "http")  the value of the header
 *                                        "Authorization: Tessera <token>"
 *   ts_credential_derive(cred, "bus")   the bus password of the user
 *                                        "tessera-server"
 * so a leaked bus password does not open the HTTP side and vice versa.
 */
#ifndef TS_CREDENTIAL_H
#define TS_CREDENTIAL_H

#include <apr_pools.h>
#include "ts_error.h"
#include "ts_log.h"

typedef struct ts_credential_t ts_credential_t;

/* The header servers send: "Authorization: Tessera <token>". */
#define TS_CREDENTIAL_SCHEME "Tessera"

/* INODIR/server.key */
const char *ts_credential_path(const char *inodir, apr_pool_t *pool);

/* Load the credential from PATH. A missing file: TS_ENOENT, saying how to
 * create it; a file others may read or write, or not one line of base64
 * holding 32 bytes: TS_ECONFIG, saying what is wrong and how to fix it. */
ts_error_t *ts_credential_load(ts_credential_t **cred, const char *path,
                               apr_pool_t *pool);

/* Load PATH, or create it (32 random bytes, owner-only, atomically; two
 * processes creating it at once end with the same one) when it is
 * missing. *CREATED: whether this call created it. */
ts_error_t *ts_credential_ensure(ts_credential_t **cred, int *created,
                                 const char *path, apr_pool_t *pool);

/* The file CRED was loaded from. */
const char *ts_credential_file(const ts_credential_t *cred);

/* What a server does at start: the credential in INODIR (created, with
 * INODIR, when missing), the log saying which, and where other machines
 * get it. */
ts_error_t *ts_credential_open(ts_credential_t **cred, const char *inodir,
                               ts_log_t *log, apr_pool_t *pool);

/* What ts_credential_open() would find in INODIR, changing nothing:
 * *WHAT names the file, or says that the start would create it; a file
 * that ts_credential_load() refuses is its error. */
ts_error_t *ts_credential_check(const char **what, const char *inodir,
                                apr_pool_t *pool);

/* The key derived for PURPOSE ("http", "bus"): base64, in POOL. */
const char *ts_credential_derive(const ts_credential_t *cred,
                                 const char *purpose, apr_pool_t *pool);

/* Whether the HTTP Authorization header AUTHORIZATION (NULL: none) carries
 * this installation's "http" token; compared in constant time. */
int ts_credential_check_http(const ts_credential_t *cred,
                             const char *authorization);

/* The header line to send: "Authorization: Tessera <token>\r\n". */
const char *ts_credential_header(const ts_credential_t *cred,
                                 apr_pool_t *pool);

#endif
