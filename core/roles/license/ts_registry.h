/* ts_registry.h: the license server's registry of model servers and
 * proxies (seed 004, SPEC §1), the brokering of client <-> model server
 * contact, and the hub's name resolution built on it.
 *
 * Model servers register (repository, models, links, host, port, pid, the
 * license server they belong to) and heartbeat; the registry also probes
 * each one's GET /health itself every probe interval. A model server with
 * neither a heartbeat nor a successful probe for the gone-after interval
 * is marked gone and the change callback runs (the license server frees
 * its seats and says so on the bus). The registry is soft state: after a
 * restart of the license server, model servers register again when their
 * heartbeat is answered 404.
 *
 * Interface (the license server's port p):
 *   POST   /v1/model-servers                register -> 201 {"id", ...}
 *   GET    /v1/model-servers                every model server, up or gone
 *   PUT    /v1/model-servers/<id>/heartbeat 200, or 404: register again
 *   DELETE /v1/model-servers/<id>           a clean stop
 *   POST   /v1/proxies                      {"host","port"}: a host's proxy
 *   GET    /v1/models/<name>                where a client connects for it
 * The hub (port p+2):
 *   GET    /v1/resolve/<link or model>      the physical model
 *   GET    /v1/links                        every name the hub resolves
 */
#ifndef TS_REGISTRY_H
#define TS_REGISTRY_H

#include <apr_tables.h>
#include <apr_time.h>
#include "ts_error.h"
#include "ts_httpd.h"
#include "ts_log.h"

typedef struct ts_registry_t ts_registry_t;

typedef struct ts_model_server_t {
  const char *id;                 /* "<host>:<port>" */
  const char *repository, *host, *license_server;
  int port;
  long pid;
  apr_array_header_t *models;     /* of const char * */
  apr_array_header_t *links;      /* of const char *: link, model, ... */
  int up;
  apr_time_t registered, last_heartbeat, last_probe_ok;
} ts_model_server_t;

/* Called (from the prober thread or a request thread) when SERVER goes
 * from up to gone (UP 0, with REASON) or registers (UP 1). */
typedef void (*ts_registry_change_t)(void *baton,
                                     const ts_model_server_t *server, int up,
                                     const char *reason);

/* A registry probing every PROBE seconds and marking servers gone after
 * GONE_AFTER seconds of silence. */
ts_error_t *ts_registry_create(ts_registry_t **registry, int probe,
                               int gone_after, ts_log_t *log,
                               ts_registry_change_t change, void *baton,
                               apr_pool_t *pool);

/* Start and stop the prober thread. */
ts_error_t *ts_registry_start(ts_registry_t *registry);
void ts_registry_stop(ts_registry_t *registry);

/* Whether ID names a model server that is up. */
int ts_registry_is_up(ts_registry_t *registry, const char *id);

/* Counts for status and /metrics. */
void ts_registry_counts(ts_registry_t *registry, int *up, int *gone,
                        int *proxies);

/* The model servers as a JSON text array (for /v1/status). */
const char *ts_registry_json(ts_registry_t *registry, apr_pool_t *pool);

/* The /v1/model-servers, /v1/proxies and /v1/models handler; returns 0
 * when URL is none of these. */
int ts_registry_api(ts_http_reply_t *reply, ts_registry_t *registry,
                    const ts_http_request_t *req, apr_pool_t *pool);

/* The hub's handler (baton: the registry). */
void ts_registry_hub(ts_http_reply_t *reply, void *baton,
                     const ts_http_request_t *req, apr_pool_t *pool);

#endif
