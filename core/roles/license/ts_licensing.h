/* ts_licensing.h: the license server proper, shared by the files of the
 * license role (core/roles/license; the role's hooks are in
 * ts_role_license.c). One file per concern:
 *
 *   ts_licensing.c           its state: the license in force, the
 *                            administrator's password, open/reload/close
 *   ts_licensing_sessions.c  seats and sessions (/v1/sessions...): the
 *                            only file that calls the session store
 *   ts_licensing_status.c    /v1/status, /v1/admin
 *   ts_licensing_projects.c  project license servers: /v1/projects, and a
 *                            project server's reports to the main one
 *   ts_licensing_agents.c    agents: /v1/agents
 *   ts_licensing_bus.c       what it says on the bus and in the audit log
 *   ts_licensing_metrics.c   its families on /metrics
 *   ts_licensing_timer.c     what changes with time alone, when it is due
 *   ts_registry*.c, ts_hub.c model servers, proxies, brokering, the hub
 *
 * Locking: LOCK guards the license in force, the bus connection and the
 * failure counters, and is never held while the session store is called
 * (the store calls its observer, which publishes on the bus, under its
 * own lock).
 */
#ifndef TS_LICENSING_H
#define TS_LICENSING_H

#include <apr_hash.h>
#include <apr_thread_mutex.h>
#include <jansson.h>

#include "ts_audit.h"
#include "ts_bus.h"
#include "ts_config.h"
#include "ts_credential.h"
#include "ts_error.h"
#include "ts_license.h"
#include "ts_log.h"
#include "ts_prom.h"
#include "ts_registry.h"
#include "ts_routes.h"

typedef struct ts_licensing_options_t {
  const char *statedir;       /* license file and session store: INOLIC,
                                 or INOLIC/projects/<version> */
  const char *host;           /* the INOHOST host, the license's binding */
  int port;                   /* this license server's port */
  const char *project;        /* ##.# for a project license server */
  const ts_config_t *config;
  const char *passwd_path;    /* INOLIC/admin.passwd */
  const char *inodir;         /* INODIR: the server credential */
  const char *audit_path;     /* NULL: no audit log */
} ts_licensing_options_t;

typedef struct ts_licensing_projects_t ts_licensing_projects_t;
typedef struct ts_licensing_agents_t ts_licensing_agents_t;
typedef struct ts_licensing_denials_t ts_licensing_denials_t;
typedef struct ts_store_t ts_store_t;
typedef struct ts_passwd_guard_t ts_passwd_guard_t;
typedef struct ts_licensing_timer_t ts_licensing_timer_t;

typedef struct ts_licensing_t {
  ts_licensing_options_t o;
  const char *license_path;     /* STATEDIR/tessera.lic */
  apr_interval_time_t lease;
  apr_thread_mutex_t *lock;     /* guards LICENSE, LICENSE_POOL, BUS */
  ts_license_t *license;        /* NULL: none valid */
  apr_pool_t *license_pool;     /* a root pool: any thread reloads */
  apr_thread_mutex_t *reload_lock;  /* one reload at a time (HUP and
                                       POST /v1/license/reload) */
  apr_uint64_t reloads;         /* license reloads so far (under LOCK) */
  char reload_error[1024];      /* why the last one was refused, for
                                   people (ts_error_message); "" when it
                                   was not (under LOCK) */
  ts_bus_t *bus;                /* NULL: not connected (yet) */
  ts_store_t *sessions;      /* ts_licensing_sessions.c's alone */
  ts_registry_t *registry;
  ts_credential_t *credential;  /* INODIR/server.key: what servers send */
  ts_passwd_guard_t *passwd_guard;  /* throttles password checks */
  ts_licensing_projects_t *projects;
  ts_licensing_agents_t *agents;
  ts_licensing_timer_t *timer;  /* ts_licensing_timer.c's */
  apr_hash_t *said_products;    /* the bus thread's: names of the
                                   products/<name> it said */
  ts_audit_t *audit;            /* NULL: off */
  apr_uint64_t count_failures;  /* seat counts that failed */
  apr_time_t count_logged;      /* when one was last logged */
  apr_uint64_t audit_failures;  /* audit records not written */
  ts_licensing_denials_t *denials;  /* refused checkouts, counted (its own
                                       lock: ts_licensing_metrics.c) */
  ts_log_t *log;
  apr_pool_t *pool;             /* the main thread's */
} ts_licensing_t;

/* ---- ts_licensing.c ----------------------------------------------------- */

/* What a license server without a valid license says in its log at
 * start (`tesserad license --check` fails with the same words, in a
 * sentence of their own: ts_role_license.c). */
#define TS_LICENSING_NO_LICENSE \
  "no license in force, so no seats can be checked out; install one with " \
  "`tessera-admin license import FILE`"

/* The license in PATH as a license server for HOST takes it: read,
 * valid against the schema, signed with a trusted key, bound to HOST and
 * not expired in every product. The error says why not (a missing file:
 * TS_ENOENT; a file that fails a check: TS_EINVAL). In POOL. */
ts_error_t *ts_licensing_license_read(ts_license_t **license,
                                      const char *path, const char *host,
                                      apr_pool_t *pool);

/* Open the session store STATEDIR/sessions.db, load the server credential
 * INODIR/server.key (creating it, and INODIR, at the first start) and
 * STATEDIR/tessera.lic for the host. A missing or invalid license is
 * logged; the server then serves, but hands out no seats. Close with
 * ts_licensing_close() even when this fails. */
ts_error_t *ts_licensing_open(ts_licensing_t **lc,
                              const ts_licensing_options_t *options,
                              ts_log_t *log, apr_pool_t *pool);

/* Load the license again; a bad one is refused (logged) and the old one
 * stays. Reopens the audit log, whose failure is the error. */
ts_error_t *ts_licensing_reload(ts_licensing_t *lc);

/* Load STATEDIR/tessera.lic again (any thread; one at a time): the error
 * says why it was refused, and the license in force stays (logged, with
 * WHO: "on HUP", or "asked by NAME from ADDRESS"). */
ts_error_t *ts_licensing_reload_license(ts_licensing_t *lc, const char *who);

/* Stop the prober and close the store (the bus must be detached). */
void ts_licensing_close(ts_licensing_t *lc);

/* The seats of PRODUCT in the license in force: -1 unknown product, -2 no
 * license, -3 expired product. */
long ts_licensing_seats_of(ts_licensing_t *lc, const char *product);

/* The products of the license in force with their seats in use:
 * [{name, seats, used, expires, expired}]; "used" is null, with an
 * "error", when the count failed (logged, and counted for /metrics). */
json_t *ts_licensing_products(ts_licensing_t *lc);

/* The license in force and its products, read at one moment (a reload
 * in between cannot pair one license's id with another's products):
 * {license, host, licensee, products} (ids null without a license). */
json_t *ts_licensing_license_json(ts_licensing_t *lc);

/* The administrator who sends REQ (HTTP Basic, checked against the
 * password file under the guard), or NULL when the reply already says why
 * not (401; 403 while no password is set; 429 with Retry-After while
 * guessing is throttled). */
const char *ts_licensing_authorize(ts_http_reply_t *reply,
                                   ts_licensing_t *lc,
                                   const ts_http_request_t *req,
                                   apr_pool_t *pool);

/* ---- ts_licensing_sessions.c -------------------------------------------- */

extern const ts_route_t ts_licensing_session_routes[];

/* Open the store STATEDIR/sessions.db, telling ts_licensing_event() of
 * every session that ends. */
ts_error_t *ts_licensing_sessions_open(ts_licensing_t *lc,
                                       apr_pool_t *pool);
void ts_licensing_sessions_close(ts_licensing_t *lc);

/* Seats of PRODUCT in use now. */
ts_error_t *ts_licensing_seats_used(long *used, ts_licensing_t *lc,
                                    const char *product);

/* Free the seats used with model server SERVER, which is gone (DETAIL
 * goes to the audit log); *RELEASED gets how many. */
ts_error_t *ts_licensing_free_server_seats(int *released,
                                           ts_licensing_t *lc,
                                           const char *server,
                                           json_t *detail);

/* The store's transactions and the requests they carried. */
void ts_licensing_store_stats(apr_uint64_t *commits, apr_uint64_t *steps,
                              ts_licensing_t *lc);

/* ---- ts_licensing_status.c ---------------------------------------------- */

/* /v1/status, /v1/admin and POST /v1/license/reload. */
extern const ts_route_t ts_licensing_status_routes[];

/* ts_licensing_admin.c: POST /v1/admin/check, for agents. */
extern const ts_route_t ts_licensing_admin_routes[];

/* ---- ts_licensing_projects.c -------------------------------------------- */

extern const ts_route_t ts_licensing_project_routes[];

ts_licensing_projects_t *ts_licensing_projects_create(apr_pool_t *pool);

/* Projects silent for too long go gone, and are forgotten later, as of
 * NOW (the bus is told); when the next such change is due (0: none). */
apr_time_t ts_licensing_projects_settle(ts_licensing_t *lc, apr_time_t now);

/* The project license servers that report here, for /v1/status. */
json_t *ts_licensing_projects_json(ts_licensing_t *lc);

/* A project license server's reports to the main one (a thread). */
typedef struct ts_project_reporter_t ts_project_reporter_t;

/* Report PROJECT on HOST:PORT to the main license server on
 * HOST:MAIN_PORT now and every 10 s, with the server credential CRED
 * (which must outlive the reporter). */
ts_error_t *ts_project_reporter_start(ts_project_reporter_t **reporter,
                                      const char *host, int main_port,
                                      const char *project, int port,
                                      const ts_credential_t *cred,
                                      ts_log_t *log, apr_pool_t *pool);
void ts_project_reporter_stop(ts_project_reporter_t *reporter);

/* ---- ts_licensing_agents.c ---------------------------------------------- */

extern const ts_route_t ts_licensing_agent_routes[];

/* The agents' list: gone after GONE_AFTER_SECONDS without a report. */
ts_licensing_agents_t *ts_licensing_agents_create(int gone_after_seconds,
                                                  apr_pool_t *pool);

/* Free what the list holds (no thread may use it any more). */
void ts_licensing_agents_destroy(ts_licensing_agents_t *agents);

/* Agents silent for too long go gone, and are forgotten an hour later,
 * as of NOW (the bus is told); when the next such change is due (0:
 * none). */
apr_time_t ts_licensing_agents_settle(ts_licensing_t *lc, apr_time_t now);

/* The agents that report here, with their versions, for /v1/status. */
json_t *ts_licensing_agents_json(ts_licensing_t *lc);

/* ---- ts_licensing_bus.c ------------------------------------------------- */

/* Connect to the bus on ADDRESS:PORT (in the background) as LOGIN (the
 * servers' user, the password from the server credential) and say
 * everything there from now on; the last will says the license server is
 * down. */
ts_error_t *ts_licensing_bus_connect(ts_licensing_t *lc, const char *address,
                                     int port, const ts_bus_login_t *login,
                                     apr_pool_t *pool);

/* Say "stopped" and disconnect; nothing is said from now on. */
void ts_licensing_bus_disconnect(ts_licensing_t *lc);

/* The connection (NULL: none); ts_bus_* take NULL. */
ts_bus_t *ts_licensing_bus(ts_licensing_t *lc);

/* Publish J (its reference is taken) on TOPIC. */
void ts_licensing_say(ts_licensing_t *lc, const char *topic, json_t *j,
                      int retain);

/* Clear the retained TOPIC (what it was about is no longer listed). */
void ts_licensing_clear(ts_licensing_t *lc, const char *topic);

/* A seat given or taken, EVENT ({"event", "session", ...}, its reference
 * is taken): to the audit log and the bus. */
void ts_licensing_event(ts_licensing_t *lc, json_t *event);

/* The registry's change callback (baton: the ts_licensing_t): a model
 * server that is gone gets its seats freed. */
void ts_licensing_model_server_changed(void *baton,
                                       const ts_model_server_t *ms, int up,
                                       const char *reason);

/* The registry's forget callback (baton: the ts_licensing_t): a model
 * server no longer listed has its retained topic cleared. */
void ts_licensing_model_server_forgotten(void *baton, const char *id);

/* ---- ts_licensing_timer.c ----------------------------------------------- */

/* Start and stop the timer thread (stop: also when it never started). */
ts_error_t *ts_licensing_timer_start(ts_licensing_t *lc, apr_pool_t *pool);
void ts_licensing_timer_stop(ts_licensing_t *lc);

/* A change is due earlier than the timer thought (a new project). */
void ts_licensing_timer_wake(ts_licensing_t *lc);

/* ---- ts_licensing_metrics.c --------------------------------------------- */

/* The license server's families for /metrics (baton: the ts_licensing_t;
 * a ts_server_metrics_t). */
void ts_licensing_metrics(ts_prom_t *prom, void *baton, apr_pool_t *pool);

/* The counters of refused checkouts, in a pool of their own. */
ts_error_t *ts_licensing_denials_create(ts_licensing_t *lc,
                                        apr_pool_t *pool);

/* A checkout of PRODUCT refused: SEATS is what ts_licensing_seats_of()
 * said (-1 unknown product, -2 no license, -3 expired), or 0 when every
 * seat was in use. Any thread. */
void ts_licensing_count_denial(ts_licensing_t *lc, const char *product,
                               long seats);

#endif
