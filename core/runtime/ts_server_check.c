/* ts_server_check.c: what a start would do (ts_server_check in
 * ts_server.h), and the checks the runtime offers roles for what it
 * starts for them: an HTTP port, the bus broker.
 *
 * One path for the start and for `tesserad --check`: the start runs
 * ts_server_check() first and fails with its error, so --check cannot
 * pass what the start then refuses. Nothing here takes or changes
 * anything: ports are bound and let go at once, the broker's pid file is
 * only read, a directory that does not exist yet is judged by the one it
 * would be made in. */
#include "ts_server_impl.h"

#include <stdarg.h>
#include <string.h>
#include <apr_file_info.h>
#include <apr_strings.h>

#include "ts_file.h"
#include "ts_proc.h"

void
ts_server_plan_add(ts_server_plan_t *plan, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  APR_ARRAY_PUSH(plan->lines, const char *) = apr_pvsprintf(plan->pool, fmt,
                                                            ap);
  va_end(ap);
}

/* Project directories on network drives (SPEC §4): refused for Windows
 * services, a warning elsewhere. */
static ts_error_t *
check_local_dirs(ts_server_plan_t *plan, ts_server_t *server)
{
  for (const char *const *n = (const char *const[]){ "INOPRJ", "INOLIC",
       NULL }; *n; n++) {
    const char *warning;
    TS_ERR(ts_check_local_dir(&warning, *n,
                              ts_settings_get(server->settings, *n)->value,
                              server->info.as_service
                              && strcmp(*n, "INOPRJ") == 0
                              && tsp_services_refuse_remote_projects(),
                              plan->pool));
    if (warning)
      APR_ARRAY_PUSH(plan->warnings, const char *) = warning;
  }
  return NULL;
}

/* What ts_server_create() found: the settings and tessera.xml. */
static void
plan_settings(ts_server_plan_t *plan, const ts_server_t *server)
{
  const ts_server_info_t *info = &server->info;
  const ts_setting_value_t *host = ts_settings_get(server->settings,
                                                   "INOHOST");

  ts_server_plan_add(plan, "settings: valid; INOHOST %s from the %s (p = "
                     "%d), INOLIC %s, INODIR %s", host->value,
                     ts_source_name(host->source), info->main_port,
                     info->inolic, info->inodir);
  if (info->config->path)
    ts_server_plan_add(plan, "configuration: %s is valid",
                       info->config->path);
  else
    ts_server_plan_add(plan, "configuration: no tessera.xml in INOLIC: the "
                       "defaults apply");
  if (info->project)
    ts_server_plan_add(plan, "project license server %s on port %d (from "
                       "tessera.xml)", info->project,
                       info->port - info->role->port_offset);
}

ts_error_t *
ts_server_check(ts_server_plan_t **plan_p, ts_server_t *server, int alone,
                apr_pool_t *pool)
{
  ts_server_plan_t *plan = apr_pcalloc(pool, sizeof(*plan));

  plan->pool = pool;
  plan->lines = apr_array_make(pool, 8, sizeof(const char *));
  plan->warnings = apr_array_make(pool, 2, sizeof(const char *));
  *plan_p = plan;
  plan_settings(plan, server);
  /* never from a start: the start holds the lock, which opening and
   * closing the file would drop */
  server->running = alone ? tsp_pidfile_holder(server->pidfile) : 0;
  plan->running = server->running;
  if (server->running)
    ts_server_plan_add(plan, "running now: pid %ld holds %s; a start now "
                       "would be refused, so what follows judges a restart "
                       "(the ports the running server holds are its own)",
                       server->running, server->pidfile);
  TS_ERR(check_local_dirs(plan, server));
  if (server->info.role->check)
    TS_ERR(server->info.role->check(plan, server, pool));
  ts_server_plan_add(plan, "log: %s", server->logfile);
  return NULL;
}

ts_error_t *
ts_server_check_port(ts_server_t *server, const char *name, int port,
                     apr_pool_t *pool)
{
  if (server->running)
    return NULL;
  return ts_httpd_check_port(name, port, server->info.config->listen, pool);
}

/* DIR, or the nearest directory above it that exists: where a directory
 * the start would make is judged before it is there. */
static const char *
existing_dir(const char *dir, apr_pool_t *pool)
{
  apr_finfo_t fi;
  char *up;

  while (apr_stat(&fi, dir, APR_FINFO_TYPE, pool) != APR_SUCCESS) {
    char *slash;
    up = apr_pstrdup(pool, dir);
    slash = strrchr(up, '/');
    if (!slash || (strrchr(up, '\\') && strrchr(up, '\\') > slash))
      slash = strrchr(up, '\\');
    if (!slash || slash == up)
      return slash ? apr_pstrndup(pool, up, 1) : dir;
    *slash = '\0';
    dir = up;
  }
  return dir;
}

/* The broker's account (when this process is root) must reach its
 * directories: what ts_bus_broker_start() checks once it made them. */
static ts_error_t *
check_broker_account(const char **account, const char *logdir,
                     const char *persistence, apr_pool_t *pool)
{
  const char *why;

  TS_ERR(tsp_helper_account(account, pool));
  if (!*account)
    return NULL;
  why = apr_psprintf(pool, "the bus broker runs as %s, since this server "
                     "runs as root and the broker must not", *account);
  TS_ERR_W(tsp_account_reaches(existing_dir(logdir, pool), *account, pool),
           "%s", why);
  if (persistence)
    TS_ERR_W(tsp_account_reaches(existing_dir(persistence, pool), *account,
                                 pool), "%s", why);
  return NULL;
}

/* The broker's port: free, or held by the broker an earlier run of a
 * server left behind, which the start stops first (judged as the start
 * judges it: ts_bus_broker_judge_port). */
static ts_error_t *
check_broker_port(ts_server_plan_t *plan, const ts_server_t *server,
                  const char *program, const char *logdir, int port,
                  apr_pool_t *pool)
{
  const ts_server_info_t *info = &server->info;
  const apr_array_header_t *listen = info->config->listen;
  const char *host = listen->nelts ? APR_ARRAY_IDX(listen, 0, const char *)
                                   : "127.0.0.1";
  const char *left_by = NULL;
  long pid = 0;

  if (server->running) {
    if (ts_proc_tcp_accepts(host, port, pool))
      ts_server_plan_add(plan, "bus: port %d is held by the broker of the "
                         "running server", port);
    return NULL;
  }
  TS_ERR(ts_bus_broker_judge_port(&pid, &left_by, program, logdir, host,
                                  port, info->log, pool));
  if (pid > 1)
    ts_server_plan_add(plan, "bus: port %d is held by the bus broker (pid "
                       "%ld) left behind by %s: the start stops it first",
                       port, pid, left_by);
  else   /* nothing answers there: can the broker bind it? */
    TS_ERR(ts_httpd_check_port("bus broker", port, listen, pool));
  return NULL;
}

ts_error_t *
ts_server_check_broker(ts_server_plan_t *plan, ts_server_t *server,
                       int port, apr_pool_t *pool)
{
  const ts_server_info_t *info = &server->info;
  const char *program, *account;
  const char *logdir = ts_path_join(info->inolic, apr_psprintf(pool,
                                    "logs/bus.%d", port), pool);
  const char *persistence = info->config->bus_persistence
    ? ts_path_join(info->inolic, apr_psprintf(pool, "bus.%d", port), pool)
    : NULL;

  TS_ERR(ts_bus_find_program(&program, info->config->bus_program, port,
                             pool));
  if (!tsp_program_runnable(program))
    return ts_error_createf(TS_EPERM, "the bus broker %s (for port %d) may "
                            "not be run by this account: it has no execute "
                            "permission for it; fix with `chmod a+x %s`, or "
                            "name another one with <bus program=\"...\"/> "
                            "in tessera.xml", program, port, program);
  TS_ERR(check_broker_account(&account, logdir, persistence, pool));
  TS_ERR(check_broker_port(plan, server, program, logdir, port, pool));
  ts_server_plan_add(plan, "bus broker: %s on port %d, run as %s; its "
                     "files in %s%s%s", program, port,
                     account ? account : "this server's account", logdir,
                     persistence ? ", persistence in " : "",
                     persistence ? persistence : "");
  return NULL;
}
