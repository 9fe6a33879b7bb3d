/* ts_server.h: one running Tessera server (`tesserad <role>`): its
 * settings, log, pid file and port, with the start/reload/stop steps that
 * the platform's service runtime (tsp_service_run) drives, and what the
 * runtime offers every role (ts_role.h): its HTTP ports with /health and
 * /metrics, and the bus broker as tessera.xml configures it.
 *
 * A server's port is p (INOHOST), or p' of a project license server
 * (`--project ##.#`, tessera.xml), plus the role's offset.
 */
#ifndef TS_SERVER_H
#define TS_SERVER_H

#include "ts_bus.h"
#include "ts_credential.h"
#include "ts_config.h"
#include "ts_error.h"
#include "ts_httpd.h"
#include "ts_log.h"
#include "ts_prom.h"
#include "ts_role.h"
#include "ts_routes.h"
#include "ts_uvhttp.h"
#include "tsp.h"

/* Resolve the settings for ROLE and open its log (to stderr as well when
 * TO_STDERR). OPERAND is the role's operand (ts_role_t.operand), or
 * NULL. Invalid settings, an INOLIC other accounts may write in and
 * an invalid tessera.xml are TS_ECONFIG errors saying what to fix; the
 * caller says what they keep from happening (a start, or --check's
 * verdict). PROJECT
 * is NULL, or the ##.# of a project license server. AS_SERVICE says the
 * server runs under the service manager: a Windows service refuses a
 * project directory on a network drive (SPEC §4). */
ts_error_t *ts_server_create(ts_server_t **server, const ts_role_t *role,
                             const char *project, const char *operand,
                             tsp_settings_t *store,
                             int to_stderr, int as_service,
                             apr_pool_t *pool);

/* The configuration file read (INOLIC/tessera.xml), or NULL when there is
 * none and the defaults apply. */
const char *ts_server_config_path(const ts_server_t *server);

/* Paths: the log file and the pid file (INOLIC/logs/<role>.<port>/...). */
const char *ts_server_pidfile(const ts_server_t *server);
ts_log_t *ts_server_log(const ts_server_t *server);
int ts_server_port(const ts_server_t *server);

/* The hooks for tsp_service_run(), with SERVER as their baton. */
void ts_server_hooks(tsp_service_hooks_t *hooks, ts_server_t *server);

/* ---- what a start would do ------------------------------------------- */

/* What ts_server_check() found. */
struct ts_server_plan_t {
  apr_array_header_t *lines;     /* const char *: what the start would do,
                                    "ports: 17000 (license server), ..." */
  apr_array_header_t *warnings;  /* const char *: what it would warn about
                                    and still start (a directory on a
                                    network drive) */
  ts_error_t *degraded;          /* what it would start without, though
                                    the server is of little use without
                                    it, as a sentence with the error that
                                    keeps it out: "the license server
                                    would start with no license in force,
                                    ...: <why>"; or NULL. A start meets it
                                    again and logs it; `--check` fails
                                    with it. */
  long running;                  /* ts_server_check() ALONE: the pid of
                                    this server running now, or 0 */
  apr_pool_t *pool;
};

/* Add a line to PLAN. */
void ts_server_plan_add(ts_server_plan_t *plan, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

/* Every check the start of SERVER makes before it takes anything, in the
 * order the start makes them and without taking or changing anything:
 * the local-directory rule (SPEC §4), then the role's check (ts_role_t).
 * With what ts_server_create() checked (the settings, INOLIC private,
 * tessera.xml), this decides whether the start succeeds: its error is
 * the one the start fails with. *PLAN says what the start would do. The
 * start runs it first; `tesserad --check` runs it ALONE: then, when this
 * server runs already (another process holds its pid file), the checks
 * judge a restart, and the ports the running server holds count as its
 * own. */
ts_error_t *ts_server_check(ts_server_plan_t **plan, ts_server_t *server,
                            int alone, apr_pool_t *pool);

/* ---- for roles ---------------------------------------------------------- */

/* What a role runs with; the server's, read-only. */
struct ts_server_info_t {
  const ts_role_t *role;
  const char *project;          /* ##.# of a project license server, or
                                   NULL */
  const char *host;             /* INOHOST's host */
  int main_port;                /* INOHOST's port p: the main license
                                   server's */
  int port;                     /* this server's: p or p', plus the role's
                                   offset */
  const char *inolic;           /* INOLIC */
  const char *inodir;           /* INODIR: parameter files, the server
                                   credential */
  const char *inoprj;           /* INOPRJ: the project directory */
  const char *inonotify;        /* INONOTIFY: the notification service's
                                   files, or NULL (under INOPRJ) */
  const char *operand;          /* the role's operand, or NULL */
  int agent_port;               /* INOAGENTPORT, or p+3 */
  const char *logdir;           /* INOLIC/logs/<role>.<port> */
  const ts_config_t *config;    /* tessera.xml, or its defaults */
  int as_service;               /* under the service manager */
  ts_log_t *log;                /* the server's log */
};

const ts_server_info_t *ts_server_info(const ts_server_t *server);

/* This machine's name in what its agent and model servers write and
 * register: tessera.xml's <machine name>, else the host name. */
const char *ts_server_machine(const ts_server_info_t *info,
                              apr_pool_t *pool);

/* The port a role that chooses its own (ts_role_t.place set INFO->port
 * to 0) took as it started. */
void ts_server_set_port(ts_server_t *server, int port);

/* A few words the "serving on port N" line adds, e.g. "bus 17001, hub
 * 17002" (copied). */
void ts_server_set_detail(ts_server_t *server, const char *detail);

/* The role's families on /metrics, written to PROM (POOL is PROM's). */
typedef void (*ts_server_metrics_t)(ts_prom_t *prom, void *baton,
                                    apr_pool_t *pool);

/* One HTTP port a role serves. */
typedef struct ts_server_site_t {
  const char *name;             /* what listens, in messages: "license
                                   server", "hub" */
  const char *label;            /* /health's "role": "license", "hub" */
  int port;
  ts_log_t *log;                /* the log of its listener; NULL: the
                                   server's */
  const ts_routes_t *routes;    /* the role's route tables (copied) */
  int nroutes;
  ts_server_metrics_t metrics;  /* NULL: the HTTP metrics only */
  void *metrics_baton;
} ts_server_site_t;

/* Listen on SITE's port on tessera.xml's listen addresses, answering
 * GET /health and GET /metrics (the request counters, then SITE's
 * metrics) besides SITE's routes; returns once the port accepts
 * connections. Stop it with ts_httpd_stop(). */
ts_error_t *ts_server_listen(ts_httpd_t **httpd, ts_server_t *server,
                             const ts_server_site_t *site, apr_pool_t *pool);

/* The same on the event-loop listener (ts_uvhttp.h), for a role that
 * holds many long connections (the proxy, the notification service):
 * HOOKS->claim sees each request head first and may take the connection;
 * the rest is answered as by ts_server_listen(), /health and /metrics
 * included. Stop it with ts_uvhttp_stop(). */
ts_error_t *ts_server_listen_loop(ts_uvhttp_t **uvhttp, ts_server_t *server,
                                  const ts_server_site_t *site,
                                  const ts_uvhttp_hooks_t *hooks,
                                  apr_pool_t *pool);

/* Who may change what a role holds besides the license server's own
 * (ts_server_admin.c): the license server checks the administrator's
 * password of a request for it. */
typedef struct ts_server_admin_t {
  const char *host;             /* the license server (NULL: unknown yet,
                                   answered 503) */
  int port;
  const ts_credential_t *cred;  /* the server credential (NULL: as HOST) */
  const char *realm;            /* the 401's challenge: "Basic realm=..." */
  const char *needed;           /* the 401's sentence when REQ has no
                                   password: what needs it and how to give
                                   it, in the language people read */
} ts_server_admin_t;

/* Who acts on REQ: "a Tessera server" when it shows the server
 * credential, else the name the license server's POST /v1/admin/check
 * returns for its password; NULL with REPLY filled (401 with ADMIN's
 * realm, 403 none set yet, 429 guessing throttled, 503 the license server
 * does not answer). Blocks for that call (up to 10 s). */
const char *ts_server_admin_check(ts_http_reply_t *reply,
                                  const ts_http_request_t *req,
                                  const ts_server_admin_t *admin,
                                  apr_pool_t *pool);

/* For a role's check: NULL when ts_server_listen() could listen on PORT
 * on tessera.xml's listen addresses now (or the running server holds it,
 * see ts_server_check), else the error it would give. NAME as in
 * ts_server_site_t. */
ts_error_t *ts_server_check_port(ts_server_t *server, const char *name,
                                 int port, apr_pool_t *pool);

/* For a role's check: what ts_server_start_broker() needs on PORT, as
 * its start checks it: the broker program installed and runnable, the
 * account it would run as able to reach its directories, the port free
 * (or held by a broker an earlier run left behind, which the start
 * stops). Says on PLAN which broker would run where. */
ts_error_t *ts_server_check_broker(ts_server_plan_t *plan,
                                   ts_server_t *server, int port,
                                   apr_pool_t *pool);

/* Start the bus broker (mosquitto) on PORT as tessera.xml says (program,
 * listen addresses, persistence in INOLIC/bus.<port>), its files in
 * INOLIC/logs/bus.<port>/, admitting SERVER (Tessera's servers' login,
 * which the role derives from the server credential) as the only user
 * who publishes; returns once the port accepts connections. */
ts_error_t *ts_server_start_broker(ts_bus_broker_t **broker,
                                   ts_server_t *server, int port,
                                   const ts_bus_login_t *login,
                                   apr_pool_t *pool);

#endif
