/* ts_licensing.h: the license server proper (the `license` role): seats
 * and sessions, the model-server registry and brokering, project license
 * servers, the administrator's password, the audit log, and what it says
 * on the bus. Served under /v1 (see ts_licensing.c for the interface). */
#ifndef TS_LICENSING_H
#define TS_LICENSING_H

#include "ts_bus.h"
#include "ts_config.h"
#include "ts_error.h"
#include "ts_httpd.h"
#include "ts_log.h"
#include "ts_registry.h"

typedef struct ts_licensing_t ts_licensing_t;

typedef struct ts_licensing_options_t {
  const char *statedir;       /* license file and session store: INOLIC,
                                 or INOLIC/projects/<version> */
  const char *host;           /* the INOHOST host, the license's binding */
  int port;                   /* this license server's port */
  const char *project;        /* ##.# for a project license server */
  const ts_config_t *config;
  const char *passwd_path;    /* INOLIC/admin.passwd */
  const char *audit_path;     /* NULL: no audit log */
} ts_licensing_options_t;

/* Open the session store STATEDIR/sessions.db and load STATEDIR/tessera.lic
 * for the host. A missing or invalid license is logged; the server then
 * serves, but hands out no seats. */
ts_error_t *ts_licensing_open(ts_licensing_t **lc,
                              const ts_licensing_options_t *options,
                              ts_log_t *log, apr_pool_t *pool);

/* Start the registry's prober. */
ts_error_t *ts_licensing_start(ts_licensing_t *lc);

/* Say everything on BUS from now on (NULL: no bus). */
void ts_licensing_attach_bus(ts_licensing_t *lc, ts_bus_t *bus);

/* The bus tick (baton: the ts_licensing_t): publish the seats in use. */
void ts_licensing_bus_tick(void *baton, ts_bus_t *bus);

/* Load the license again; a bad one is refused and the old stays. Reopens
 * the audit log. */
ts_error_t *ts_licensing_reload(ts_licensing_t *lc);

void ts_licensing_close(ts_licensing_t *lc);

ts_registry_t *ts_licensing_registry(ts_licensing_t *lc);

/* The license server's families for /metrics, written to PROM. */
void ts_licensing_metrics(ts_prom_t *prom, ts_licensing_t *lc,
                          apr_pool_t *pool);

/* The /v1 handler (baton: the ts_licensing_t). */
void ts_licensing_api(ts_http_reply_t *reply, void *baton,
                      const ts_http_request_t *req, apr_pool_t *pool);

#endif
