/* ts_licensing.h: the license server's seats and sessions, served under
 * /v1 by the `license` role (see ts_licensing.c for the interface). */
#ifndef TS_LICENSING_H
#define TS_LICENSING_H

#include "ts_error.h"
#include "ts_httpd.h"
#include "ts_log.h"

typedef struct ts_licensing_t ts_licensing_t;

/* Open the session store INOLIC/sessions.db and load INOLIC/tessera.lic
 * for HOST (the INOHOST host). A missing or invalid license is logged; the
 * server then serves, but hands out no seats. */
ts_error_t *ts_licensing_open(ts_licensing_t **lc, const char *inolic,
                              const char *host, ts_log_t *log,
                              apr_pool_t *pool);

/* Load the license again; a bad one is refused and the old stays. */
ts_error_t *ts_licensing_reload(ts_licensing_t *lc);

void ts_licensing_close(ts_licensing_t *lc);

/* The /v1 handler (baton: the ts_licensing_t). */
void ts_licensing_api(ts_http_reply_t *reply, void *baton,
                      const ts_http_request_t *req, apr_pool_t *pool);

#endif
