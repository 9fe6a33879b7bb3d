/* ts_registry.h: the license server's registry of model servers and
 * proxies (seed 004, SPEC §1), what brokering and the hub answer from.
 *
 * Model servers register (repository, models, links, host, port, pid, the
 * license server they belong to) and heartbeat; the registry also probes
 * each one's GET /health itself every probe interval, all at once, each
 * probe with its own deadline (ts_http_probe.h), so no server that is
 * slow to answer delays another's verdict or a stop. A model server with
 * neither a heartbeat nor a successful probe for the gone-after interval
 * is marked gone and the change callback runs (the license server frees
 * its seats and says so on the bus); so is one whose last will the bus
 * brings (ts_registry_mark_gone: its connection to the bus broke, e.g.
 * it was killed), at once. The registry is soft state: after a
 * restart of the license server, model servers register again when their
 * heartbeat is answered 404. Proxies report the same way (POST again
 * every gone-after / 3); one silent for the gone-after interval is no
 * longer offered to clients.
 *
 * Only Tessera's servers may change the registry: every request that
 * registers, heartbeats or unregisters carries the server credential
 * ("Authorization: Tessera <token>", ts_credential.h), else 401.
 *
 * The data and the prober are ts_registry.c; the HTTP interfaces over it
 * are two route tables:
 *
 * Brokering, on the license server's port p (ts_registry_api.c):
 *   POST   /v1/model-servers                register -> 201 {"id", ...}
 *   GET    /v1/model-servers                every model server, up or gone
 *   PUT    /v1/model-servers/{id}/heartbeat 200, or 404: register again
 *   DELETE /v1/model-servers/{id}           a clean stop
 *   POST   /v1/proxies                      {"host","port"}: a host's proxy
 *   DELETE /v1/proxies/{host}               the proxy stops
 *   POST   /v1/notifiers                    {"host","port"}: a host's
 *                                           notification service
 *   DELETE /v1/notifiers/{host}             it stops
 *   GET    /v1/models/{name}                where a client connects for it
 * The hub, on p+2 (ts_hub.c):
 *   GET    /v1/resolve/{name}               the physical model
 *   GET    /v1/links                        every name the hub resolves
 */
#ifndef TS_REGISTRY_H
#define TS_REGISTRY_H

#include <apr_tables.h>
#include <apr_time.h>
#include <jansson.h>
#include "ts_credential.h"
#include "ts_error.h"
#include "ts_log.h"
#include "ts_routes.h"

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

/* Called (from the prober thread or a request thread, without the
 * registry's lock) when SERVER goes from up to gone (UP 0, with REASON)
 * or registers (UP 1). SERVER is a copy the callback may keep only for
 * the call. */
typedef void (*ts_registry_change_t)(void *baton,
                                     const ts_model_server_t *server, int up,
                                     const char *reason);

typedef struct ts_registry_options_t {
  int probe;                      /* seconds between probe rounds */
  int gone_after;                 /* seconds of silence: gone */
  const ts_credential_t *credential;  /* what servers must present */
  ts_log_t *log;
  ts_registry_change_t change;
  void (*forget)(void *baton, const char *id);  /* ID is no longer listed
                                     (it unregistered, or was forgotten an
                                     hour after it went gone): after the
                                     change callback, without the lock;
                                     NULL: none */
  void (*tick)(void *baton);      /* after each probe round, on the
                                     prober's thread; NULL: none */
  void *baton;                    /* CHANGE's, FORGET's and TICK's */
} ts_registry_options_t;

/* A registry as OPTIONS say (copied; the credential must outlive it). */
ts_error_t *ts_registry_create(ts_registry_t **registry,
                               const ts_registry_options_t *options,
                               apr_pool_t *pool);

/* The options it was created with. */
const ts_registry_options_t *ts_registry_options(const ts_registry_t *r);

/* Start and stop the prober thread. Stopping wakes it at once: probes
 * still under way are abandoned. */
ts_error_t *ts_registry_start(ts_registry_t *registry);
void ts_registry_stop(ts_registry_t *registry);

/* How long a model server may be silent before it is marked gone. */
apr_interval_time_t ts_registry_gone_after(const ts_registry_t *registry);

/* Names of repositories, models and links: what fits in a URL path
 * segment and a bus topic level. Hosts: a name or an address. */
int ts_registry_valid_name(const char *name);
int ts_registry_valid_host(const char *host);

/* Register MS (copied; its id is "<host>:<port>"), replacing an entry of
 * the same id; it is up as of now. Its host is resolved here, once, for
 * the probes (each of its addresses, up to 4, probed at once; one answer
 * suffices): a host that does not resolve is TS_EINVAL. */
ts_error_t *ts_registry_add(ts_registry_t *registry,
                            const ts_model_server_t *ms,
                            apr_pool_t *scratch_pool);

/* A heartbeat from ID: 1 it is up (and stays so), 0 it was marked gone,
 * -1 it is not registered. */
int ts_registry_heartbeat(ts_registry_t *registry, const char *id);

/* Forget ID (a clean stop); 0 when it was not registered. */
int ts_registry_remove(ts_registry_t *registry, const char *id,
                       apr_pool_t *scratch_pool);

/* Mark ID gone now, for REASON, if it is registered and up (and, when
 * PID > 0, is the process PID: a last will of an earlier process of the
 * same server changes nothing); the change callback runs as for a
 * silent one. 1 when it was marked. */
int ts_registry_mark_gone(ts_registry_t *registry, const char *id, long pid,
                          const char *reason, apr_pool_t *scratch_pool);

/* The services of a machine beside its model servers
 * (ts_registry_services.c): KIND "proxy" (p+5) or "notify" (the
 * notification service, p+4), by host. */
typedef struct ts_services_t ts_services_t;

/* The registry's (lives as long as it). */
ts_services_t *ts_registry_services(ts_registry_t *registry);

ts_services_t *ts_services_create(ts_log_t *log,
                                  apr_interval_time_t gone_after,
                                  apr_pool_t *pool);

/* HOST's KIND listens on PORT, as of now. */
void ts_services_set(ts_services_t *services, const char *kind,
                     const char *host, int port);

/* HOST's KIND stopped; 0 when none was registered. */
int ts_services_remove(ts_services_t *services, const char *kind,
                       const char *host);

/* The port of HOST's KIND if it reports, else 0. */
int ts_services_port(ts_services_t *services, const char *kind,
                     const char *host);

/* Retire those silent for longer than the registry's gone_after: what to
 * log of each into RETIRED (const char *, in POOL). */
void ts_services_retire(ts_services_t *services,
                        apr_array_header_t *retired, apr_pool_t *pool);

/* How many of KIND report. */
int ts_services_count(ts_services_t *services, const char *kind);

/* Those that report: [{"kind", "host", "port"}]. */
json_t *ts_services_json(ts_services_t *services);

/* Whether REQ carries the server credential. If not, the reply says so
 * in the language of people (401, naming the request's method and
 * route, the header and the credential's file) and it is logged with
 * WHAT, an English phrase for the log ("registering a model server"). */
int ts_registry_authentic(ts_http_reply_t *reply, ts_registry_t *registry,
                          const ts_http_request_t *req, const char *what,
                          apr_pool_t *pool);

/* The first model server that is up and offers NAME as a model or a link:
 * *MS a copy in POOL, *MODEL the model's name, *PROXY the port of its
 * host's proxy (0: none). 0 when there is none. */
int ts_registry_find(const ts_model_server_t **ms, const char **model,
                     int *proxy, ts_registry_t *registry, const char *name,
                     apr_pool_t *pool);

/* Under the registry's lock: VISIT every name the hub resolves — each
 * model of a model server that is up (MODEL == NAME) and each of its
 * links (NAME -> MODEL) — until it returns nonzero. VISIT must not call
 * the registry. */
typedef int (*ts_registry_visit_t)(void *baton, const ts_model_server_t *ms,
                                   const char *name, const char *model);
void ts_registry_each_name(ts_registry_t *registry,
                           ts_registry_visit_t visit, void *baton);

/* Whether ID names a model server that is up. */
int ts_registry_is_up(ts_registry_t *registry, const char *id);

/* Counts for status and /metrics (proxies: those reporting). */
void ts_registry_counts(ts_registry_t *registry, int *up, int *gone,
                        int *proxies);

/* Every model server, up or gone, as a JSON array. */
json_t *ts_registry_servers_json(ts_registry_t *registry);

/* ---- the HTTP interfaces (baton: the registry) -------------------------- */

extern const ts_route_t ts_registry_routes[];   /* brokering, on p */
extern const ts_route_t ts_hub_routes[];        /* the hub, on p+2 */

/* Answer where NAME is: the model, its repository and server, and with
 * CONNECT where a client connects (directly, or through the host's
 * proxy); 404 when no model server that is up offers it. */
void ts_registry_reply_location(ts_http_reply_t *reply,
                                ts_registry_t *registry, const char *name,
                                int connect, apr_pool_t *pool);

#endif
