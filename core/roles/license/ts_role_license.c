/* ts_role_license.c: the license role's start, reload and stop (see
 * ts_role.h): what runs in a license server's process and in which order
 * it comes up and goes down. The license server proper is
 * ts_licensing*.c; the registry and the hub are ts_registry*.c and
 * ts_hub.c.
 *
 * Up: the license state and the session store; the bus (a child broker,
 * or the `tesserad bus` service's) and the connection to it; the HTTP
 * port p; the hub on p+2; the registry's prober; a project server's
 * reports. Down in the reverse order, except that the broker is told
 * first not to restart (Ctrl-C reaches it too) and stops last, after the
 * connection said "stopped".
 */
#include "ts_role_license.h"

#include <apr_strings.h>

#include "ts_credential.h"
#include "ts_file.h"
#include "ts_licensing.h"
#include "ts_passwd.h"
#include "ts_server.h"

typedef struct license_role_t {
  ts_licensing_t *lc;
  ts_bus_broker_t *broker;        /* the bus as a child, or NULL */
  ts_httpd_t *httpd;              /* p */
  ts_httpd_t *hub_httpd;          /* p+2 */
  ts_log_t *hub_log;
  ts_project_reporter_t *reporter;
} license_role_t;

/* Where the license and the session store are: INOLIC, or a project
 * license server's INOLIC/projects/<version>. */
static const char *
state_dir(const ts_server_info_t *info, apr_pool_t *pool)
{
  return info->project ? ts_path_join(info->inolic,
                                      apr_pstrcat(pool, "projects/",
                                                  info->project, NULL), pool)
                       : info->inolic;
}

/* Whether the bus runs as this server's child: outside the service
 * manager, or as tessera.xml says. */
static int
bus_is_child(const ts_server_info_t *info)
{
  return info->config->bus_start == TS_BUS_CHILD
         || (info->config->bus_start == TS_BUS_AUTO && !info->as_service);
}

static ts_error_t *
open_licensing(license_role_t *lr, const ts_server_info_t *info,
               apr_pool_t *pool)
{
  ts_licensing_options_t lo = { 0 };

  lo.statedir = state_dir(info, pool);
  lo.host = info->host;
  lo.port = info->port;
  lo.project = info->project;
  lo.config = info->config;
  lo.passwd_path = ts_passwd_path(info->inolic, pool);
  lo.inodir = info->inodir;
  lo.audit_path = info->config->audit
                  ? ts_path_join(info->logdir, "audit.jsonl", pool) : NULL;
  return ts_licensing_open(&lr->lc, &lo, info->log, pool);
}

/* How Tessera's servers log in to the bus: the password derived from the
 * server credential the licensing state opened. */
static ts_bus_login_t *
bus_login(const ts_licensing_t *lc, apr_pool_t *pool)
{
  ts_bus_login_t *l = apr_pcalloc(pool, sizeof(*l));

  l->username = TS_BUS_SERVER_USER;
  l->password = ts_credential_derive(lc->credential, "bus", pool);
  return l;
}

/* The bus on p+1: a child outside the service manager (or as tessera.xml
 * says), and the connection to it either way. */
static ts_error_t *
start_bus(license_role_t *lr, ts_server_t *server, apr_pool_t *pool)
{
  const ts_server_info_t *info = ts_server_info(server);
  const ts_config_t *cfg = info->config;
  ts_bus_login_t *login = bus_login(lr->lc, pool);

  if (bus_is_child(info))
    TS_ERR(ts_server_start_broker(&lr->broker, server, info->port + 1,
                                  login, pool));
  else
    ts_log(info->log, TS_LOG_INFO, "the bus on port %d runs as its own "
           "service (`tesserad bus`)", info->port + 1);
  return ts_licensing_bus_connect(lr->lc, cfg->listen->nelts
                                  ? APR_ARRAY_IDX(cfg->listen, 0,
                                                  const char *)
                                  : "127.0.0.1", info->port + 1, login,
                                  pool);
}

/* The license server's port p and the hub's p+2. */
static ts_error_t *
start_http(license_role_t *lr, ts_server_t *server, apr_pool_t *pool)
{
  const ts_server_info_t *info = ts_server_info(server);
  ts_registry_t *registry = lr->lc->registry;
  const ts_routes_t api[] = {
    { ts_licensing_session_routes, lr->lc },
    { ts_licensing_status_routes, lr->lc },
    { ts_licensing_project_routes, lr->lc },
    { ts_licensing_admin_routes, lr->lc },
    { ts_licensing_agent_routes, lr->lc },
    { ts_registry_routes, registry },
  };
  const ts_routes_t hub[] = { { ts_hub_routes, registry } };
  ts_server_site_t site = { 0 };
  const char *hubdir;

  site.name = "license server";
  site.label = "license";
  site.port = info->port;
  site.routes = api;
  site.nroutes = sizeof(api) / sizeof(api[0]);
  site.metrics = ts_licensing_metrics;
  site.metrics_baton = lr->lc;
  TS_ERR(ts_server_listen(&lr->httpd, server, &site, pool));
  hubdir = ts_path_join(info->inolic, apr_psprintf(pool, "logs/hub.%d",
                                                   info->port + 2), pool);
  TS_ERR(ts_log_open(&lr->hub_log, ts_path_join(hubdir, "hub.log", pool),
                     0, 0, pool));
  site = (ts_server_site_t){ "hub", "hub", info->port + 2, lr->hub_log,
                             hub, 1, NULL, NULL };
  TS_ERR(ts_server_listen(&lr->hub_httpd, server, &site, pool));
  ts_log(lr->hub_log, TS_LOG_INFO, "hub serving on port %d for the license "
         "server on port %d", info->port + 2, info->port);
  return NULL;
}

/* The license in force after the start, or why there would be none. */
static void
check_license(ts_server_plan_t *plan, const ts_server_info_t *info,
              apr_pool_t *pool)
{
  const char *path = ts_path_join(state_dir(info, pool), "tessera.lic",
                                  pool), *products = "";
  ts_license_t *lic;
  ts_error_t *err = ts_licensing_license_read(&lic, path, info->host, pool);

  if (err) {
    ts_server_plan_add(plan, "license: none in force (%s)", path);
    plan->degraded = ts_error_wrapf(err, "the license server would start "
                                    "with no license in force, so no seats "
                                    "can be checked out; install one with "
                                    "`tessera-admin license import FILE`");
    return;
  }
  for (int i = 0; i < lic->products->nelts; i++) {
    const ts_product_t *p = &APR_ARRAY_IDX(lic->products, i, ts_product_t);
    products = apr_psprintf(pool, "%s%s%s: %ld seat%s until %s%s", products,
                            i ? ", " : "", p->name, p->seats,
                            p->seats == 1 ? "" : "s", p->expires,
                            ts_product_expired(p, apr_time_now())
                            ? " (expired)" : "");
  }
  ts_server_plan_add(plan, "license: %s for %s, licensed to %s, in force "
                     "(%s): %s", lic->id, lic->host, lic->licensee, path,
                     products);
}

/* ts_role_t.check: what start() below takes, in its order: the license
 * (none is not fatal), the server credential, the bus broker when it is
 * a child, the ports p and p+2. */
static ts_error_t *
check(ts_server_plan_t *plan, ts_server_t *server, apr_pool_t *pool)
{
  const ts_server_info_t *info = ts_server_info(server);
  const apr_array_header_t *listen = info->config->listen;
  const char *credential;

  check_license(plan, info, pool);
  TS_ERR(ts_credential_check(&credential, info->inodir, pool));
  ts_server_plan_add(plan, "server credential: %s", credential);
  if (bus_is_child(info))
    TS_ERR(ts_server_check_broker(plan, server, info->port + 1, pool));
  else
    ts_server_plan_add(plan, "bus: port %d, %s; the server connects to it",
                       info->port + 1,
                       info->config->bus_start == TS_BUS_EXTERNAL
                       ? "a broker of your own (<bus start=\"external\"/>)"
                       : "its own service (`tesserad bus`)");
  TS_ERR(ts_server_check_port(server, "license server", info->port, pool));
  TS_ERR(ts_server_check_port(server, "hub", info->port + 2, pool));
  ts_server_plan_add(plan, "ports: %d (license server) and %d (hub) on "
                     "%s", info->port, info->port + 2,
                     listen->nelts ? apr_array_pstrcat(pool, listen, ' ')
                                   : "every address");
  return NULL;
}

static ts_error_t *
start(void **state, ts_server_t *server, apr_pool_t *pool)
{
  const ts_server_info_t *info = ts_server_info(server);
  license_role_t *lr = apr_pcalloc(pool, sizeof(*lr));

  *state = lr;
  TS_ERR(open_licensing(lr, info, pool));
  TS_ERR(start_bus(lr, server, pool));
  TS_ERR(start_http(lr, server, pool));
  TS_ERR(ts_registry_start(lr->lc->registry));
  if (info->project)
    TS_ERR(ts_project_reporter_start(&lr->reporter, info->host,
                                     info->main_port, info->project,
                                     info->port, lr->lc->credential,
                                     info->log, pool));
  ts_server_set_detail(server, apr_psprintf(pool, "bus %d, hub %d",
                                            info->port + 1,
                                            info->port + 2));
  return NULL;
}

static ts_error_t *
reload(void *state, ts_server_t *server)
{
  license_role_t *lr = state;
  ts_error_t *err;

  if (lr->hub_log)
    TS_ERR(ts_log_reopen(lr->hub_log));
  ts_bus_broker_reopen(lr->broker);
  /* the audit log not reopening must not fail the reload of the rest */
  err = ts_licensing_reload(lr->lc);
  if (err) {
    ts_log_error(ts_server_info(server)->log, TS_LOG_ERROR, err, "reload");
    ts_error_clear(err);
  }
  return NULL;
}

static void
stop(void *state, ts_server_t *server)
{
  license_role_t *lr = state;

  (void)server;
  ts_bus_broker_quiesce(lr->broker);
  ts_project_reporter_stop(lr->reporter);
  if (lr->httpd)
    ts_httpd_stop(lr->httpd);
  if (lr->hub_httpd)
    ts_httpd_stop(lr->hub_httpd);
  lr->httpd = lr->hub_httpd = NULL;
  if (lr->lc) {
    ts_licensing_bus_disconnect(lr->lc);
    ts_licensing_close(lr->lc);
  }
  lr->lc = NULL;
  ts_bus_broker_stop(lr->broker);
  lr->broker = NULL;
}

const ts_role_t ts_role_license = {
  .name = "license",
  .summary = "the license server on port p (INOHOST), with its hub on\n"
             "p+2 and, outside the service manager, its bus on p+1",
  .port_offset = 0,
  .start = start,
  .reload = reload,
  .stop = stop,
  .check = check
};
