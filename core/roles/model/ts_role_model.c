/* ts_role_model.c: the model role (`tesserad model REPOSITORY`): one
 * model server for one repository (a version of a managed model), its
 * log and locked pid file in the repository (srv.log, srv.pid: one
 * server per repository on a machine).
 *
 * Up: the repository opened and every element read into memory; the
 * first free port of p+6..p+5+max bound (bound, not probed: servers
 * starting at once each get their own); its record in INOPRJ/ivm/
 * modelservers; the bus with its last will; the registration with the
 * license server; the ticker (heartbeats, seats, idle sessions, closing
 * a version nobody uses); the control channel when the agent gave one.
 * Down: no new requests, the writer's queue run, the bus told "stopped",
 * the registration withdrawn (which frees every seat of this server at
 * once), the record removed.
 */
#include "ts_role_model.h"

#include <string.h>
#include <apr_env.h>
#include <apr_network_io.h>
#include <apr_file_info.h>
#include <apr_strings.h>

#include "ts_file.h"
#include "ts_model.h"
#include "ts_i18n.h"
#include "tsp.h"

/* The ticker's beat: idle sessions end within it of their time. */
#define TICK apr_time_from_msec(200)

/* ---- where and which ----------------------------------------------------- */

/* ts_role_t.place: the log and pid file in the repository; the port is
 * chosen at start. */
static ts_error_t *
place(ts_server_info_t *info, const char **logfile, const char **pidfile,
      apr_pool_t *pool)
{
  char *dir;
  apr_finfo_t fi;
  apr_status_t s = apr_filepath_merge(&dir, NULL, info->operand, 0, pool);

  if (s)
    return ts_error_aprf(s, "cannot make the repository path '%s' "
                         "absolute", info->operand);
  if (apr_stat(&fi, ts_path_join(dir, "repository.db", pool),
               APR_FINFO_TYPE, pool) != APR_SUCCESS)
    return ts_error_createf(TS_ENOENT, "%s is not a repository: it has no "
                            "repository.db; create a version with "
                            "`tessera-admin models create`", dir);
  info->operand = dir;
  info->logdir = dir;
  info->port = 0;
  *logfile = ts_path_join(dir, "srv.log", pool);
  *pidfile = ts_path_join(dir, "srv.pid", pool);
  return NULL;
}

/* This machine's name in records and registrations. */
static const char *
machine_name(const ts_server_info_t *info, apr_pool_t *pool)
{
  char name[APRMAXHOSTLEN + 1];

  if (info->config->machine)
    return info->config->machine;
  if (apr_gethostname(name, sizeof(name), pool) != APR_SUCCESS)
    return "localhost";
  return apr_pstrdup(pool, name);
}

static ts_error_t *
load_credential(ts_credential_t **cred, const ts_server_info_t *info,
                apr_pool_t *pool)
{
  TS_ERR_W(ts_credential_load(cred, ts_credential_path(info->inodir, pool),
                              pool),
           "a model server registers with its license server and speaks "
           "on the bus with the server credential of the license server's "
           "installation: copy its INODIR/server.key to this machine's "
           "INODIR");
  return NULL;
}

/* Whether ERR is a port in use. */
static int
in_use(const ts_error_t *err)
{
  for (; err; err = err->cause)
    if (err->apr_err && tsp_status_is_addr_in_use(err->apr_err))
      return 1;
  return 0;
}

/* The ports the model server may take: *FIRST..*LAST, p+6..p+5+max, or
 * the one tessera.xml fixes for its repository (*FIXED then). */
static void
port_range(int *first, int *last, int *fixed, const ts_server_info_t *info,
           apr_pool_t *pool)
{
  const char *mine = NULL, *theirs;

  *first = info->main_port + 6;
  *last = info->main_port + 5 + info->config->model_max;
  *fixed = 0;
  if (apr_filepath_merge((char **)&mine, NULL, info->operand,
                         APR_FILEPATH_NATIVE, pool) != APR_SUCCESS)
    return;
  for (int i = 0; i < info->config->fixed_ports->nelts; i++) {
    const ts_fixed_port_t *f = &APR_ARRAY_IDX(info->config->fixed_ports, i,
                                              ts_fixed_port_t);
    if (apr_filepath_merge((char **)&theirs, info->inoprj, f->path,
                           APR_FILEPATH_NATIVE, pool) == APR_SUCCESS
        && strcmp(theirs, mine) == 0) {
      *first = *last = f->port;
      *fixed = 1;
      return;
    }
  }
}

#define FIXED_IN_USE N_("the port %d that tessera.xml fixes for the " \
  "model server of %s is in use: stop what holds it (`tessera-admin " \
  "doctor` names it) or fix another in <model-servers><repository path " \
  "port/>")

#define NO_PORT N_("no port for the model server of %s: %d..%d are all " \
  "in use (p+6..p+5+max; <model-servers max=\"%d\"/> in tessera.xml): " \
  "stop a model server or raise max")

/* ts_role_t.check: what start() below reads and takes. */
static ts_error_t *
check(ts_server_plan_t *plan, ts_server_t *server, apr_pool_t *pool)
{
  const ts_server_info_t *info = ts_server_info(server);
  int first, last, fixed;
  ts_credential_t *cred;
  ts_repo_meta_t meta;

  port_range(&first, &last, &fixed, info, pool);

  TS_ERR(ts_repo_read_meta(&meta, info->operand, pool));
  ts_server_plan_add(plan, "repository: %s (model %s, version %s, product "
                     "%s%s)", info->operand, meta.model, meta.version,
                     meta.product, meta.read_only ? ", read-only" : "");
  TS_ERR(load_credential(&cred, info, pool));
  ts_server_plan_add(plan, "server credential: %s",
                     ts_credential_file(cred));
  TS_ERR(ts_model_check_project(info, pool));
  for (int p = first; p <= last; p++) {
    ts_error_t *err = ts_server_check_port(server, "model server", p, pool);
    if (!err) {
      if (fixed)
        ts_server_plan_add(plan, "port: %d, fixed in tessera.xml", p);
      else
        ts_server_plan_add(plan, "port: %d, the first free of %d..%d", p,
                           first, last);
      return NULL;
    }
    if (!in_use(err))
      return err;
    ts_error_clear(err);
  }
  if (fixed)
    return ts_error_createf(TS_EUNAVAIL, FIXED_IN_USE, first, info->operand);
  return ts_error_createf(TS_EUNAVAIL, NO_PORT, info->operand, first, last,
                          info->config->model_max);
}

/* Listen on the first port of p+6..p+5+max that binds. */
static ts_error_t *
listen_first_free(ts_model_t *m, apr_pool_t *pool)
{
  const ts_server_info_t *info = m->info;
  int first, last, fixed;
  const ts_routes_t routes[] = {
    { ts_model_session_routes, m },
    { ts_model_element_routes, m },
    { ts_model_status_routes, m },
  };
  ts_server_site_t site = { "model server", "model", 0, NULL, routes,
                            sizeof(routes) / sizeof(routes[0]),
                            ts_model_metrics, m };

  port_range(&first, &last, &fixed, info, pool);
  for (int p = first; p <= last; p++) {
    ts_error_t *err;
    site.port = p;
    err = ts_server_listen(&m->httpd, m->server, &site, pool);
    if (!err) {
      m->port = p;
      m->id = apr_psprintf(pool, "%s:%d", m->machine, p);
      ts_server_set_port(m->server, p);
      if (fixed)
        ts_log(m->log, TS_LOG_INFO, "port %d: fixed in tessera.xml", p);
      else
        ts_log(m->log, TS_LOG_INFO, "port %d: the first free of %d..%d",
               p, first, last);
      return NULL;
    }
    if (!in_use(err))
      return err;
    ts_error_clear(err);
  }
  if (fixed)
    return ts_error_createf(TS_EUNAVAIL, FIXED_IN_USE, first, m->dir);
  return ts_error_createf(TS_EUNAVAIL, NO_PORT, m->dir, first, last,
                          info->config->model_max);
}

/* ---- the ticker ---------------------------------------------------------- */

void
ts_model_request_stop(ts_model_t *m, const char *why)
{
  int first;

  apr_thread_mutex_lock(m->lock);
  first = !m->closing;
  m->closing = 1;
  apr_thread_mutex_unlock(m->lock);
  if (!first)
    return;
  ts_log(m->log, TS_LOG_INFO, "stopping: %s", why);
  /* what the service manager's stop does: the runtime's main loop stops
   * the role (Windows too: raise(SIGTERM) would end the process there) */
  tsp_service_request_stop();
}

/* Register, or heartbeat (404: register again); said in the log only
 * when it changes. */
static void
keep_registered(ts_model_t *m, apr_time_t now, apr_pool_t *pool)
{
  ts_error_t *err = m->registered == 1 ? ts_model_heartbeat(m, pool)
                                       : ts_model_register(m, pool);

  if (err && m->registered != 0)
    ts_log_error(m->log, TS_LOG_WARNING, err, "the license server does not "
                 "know this model server now (tried again every second)");
  else if (!err && m->registered != 1)
    ts_log(m->log, TS_LOG_INFO, "registered with the license server %s port "
           "%d as %s", m->info->host, m->info->main_port, m->id);
  ts_error_clear(err);
  m->registered = !err;
  m->next_heartbeat = now + (err ? apr_time_from_sec(1)
    : apr_time_from_sec(m->info->config->heartbeat_seconds));
}

static void
tick(ts_model_t *m, apr_pool_t *pool)
{
  apr_time_t now = apr_time_now(), unused_since;
  int close_after = m->info->config->close_idle_seconds;

  if (now >= m->next_heartbeat)
    keep_registered(m, now, pool);
  ts_model_sessions_tick(m, now);
  apr_thread_mutex_lock(m->lock);
  unused_since = m->unused_since;
  apr_thread_mutex_unlock(m->lock);
  if (close_after > 0 && unused_since
      && now - unused_since >= apr_time_from_sec(close_after))
    ts_model_request_stop(m, apr_psprintf(pool, "no session for %d s "
                          "(close-idle-seconds in tessera.xml)",
                          close_after));
}

static void *APR_THREAD_FUNC
ticker(apr_thread_t *thread, void *data)
{
  ts_model_t *m = data;
  apr_pool_t *pool;

  apr_pool_create(&pool, NULL);
  apr_thread_mutex_lock(m->tick_lock);
  while (!m->stopping) {
    apr_thread_mutex_unlock(m->tick_lock);
    apr_pool_clear(pool);
    tick(m, pool);
    apr_thread_mutex_lock(m->tick_lock);
    if (!m->stopping)
      apr_thread_cond_timedwait(m->tick_wake, m->tick_lock, TICK);
  }
  apr_thread_mutex_unlock(m->tick_lock);
  apr_pool_destroy(pool);
  (void)thread;   /* returns: apr_thread_exit()'s unwinding upsets ASan */
  return NULL;
}

static void
stop_ticker(ts_model_t *m)
{
  apr_status_t ignored;

  if (!m->ticker)
    return;
  apr_thread_mutex_lock(m->tick_lock);
  m->stopping = 1;
  apr_thread_cond_signal(m->tick_wake);
  apr_thread_mutex_unlock(m->tick_lock);
  apr_thread_join(&ignored, m->ticker);
  m->ticker = NULL;
}

/* ---- start and stop ------------------------------------------------------ */

/* The repository, every element in memory. */
static ts_error_t *
open_repository(ts_model_t *m, apr_pool_t *pool)
{
  char *env;
  int read_only = apr_env_get(&env, "TESSERA_READ_ONLY", pool)
                  == APR_SUCCESS && strcmp(env, "1") == 0;
  apr_interval_time_t took;

  TS_ERR(ts_repo_open(&m->repo, m->dir, read_only, pool));
  m->meta = ts_repo_meta(m->repo);
  TS_ERR(ts_elements_open(&m->els, m->repo, &took, m->log, pool));
  ts_log(m->log, TS_LOG_INFO, "model %s version %s (product %s%s): %ld "
         "elements read into memory in %ld ms", m->meta->model,
         m->meta->version, m->meta->product,
         m->meta->read_only ? ", read-only" : "", ts_elements_count(m->els),
         (long)apr_time_as_msec(took));
  return NULL;
}

/* What the server is and holds, before it takes a port. */
static ts_error_t *
prepare(ts_model_t *m, ts_server_t *server, apr_pool_t *pool)
{
  const ts_server_info_t *info = ts_server_info(server);
  char *agent;

  m->server = server;
  m->info = info;
  m->log = info->log;
  m->dir = info->operand;
  m->pool = pool;
  m->machine = machine_name(info, pool);
  m->inohost = apr_psprintf(pool, "%s.%d", info->host, info->main_port);
  if (apr_env_get(&agent, "TESSERA_AGENT", pool) == APR_SUCCESS && *agent)
    m->agent = agent;
  apr_thread_mutex_create(&m->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  apr_thread_mutex_create(&m->tick_lock, APR_THREAD_MUTEX_DEFAULT, pool);
  apr_thread_cond_create(&m->tick_wake, pool);
  m->sessions = apr_hash_make(pool);
  m->by_token = apr_hash_make(pool);
  m->reserved = apr_hash_make(pool);
  m->unused_since = apr_time_now();
  m->registered = -1;
  TS_ERR(ts_model_check_project(info, pool));
  TS_ERR(load_credential(&m->credential, info, pool));
  return open_repository(m, pool);
}

static ts_error_t *
start(void **state, ts_server_t *server, apr_pool_t *pool)
{
  ts_model_t *m = apr_pcalloc(pool, sizeof(*m));
  apr_status_t s;

  *state = m;
  TS_ERR(prepare(m, server, pool));
  TS_ERR(listen_first_free(m, pool));
  /* registered before the record says where it runs: whoever finds it
   * there (or through the license server) can open a session at once */
  keep_registered(m, apr_time_now(), pool);
  TS_ERR(ts_model_bus_open(m, pool));
  TS_ERR(ts_model_record_write(m, pool));
  s = apr_thread_create(&m->ticker, NULL, ticker, m, pool);
  if (s)
    return ts_error_aprf(s, "cannot start the model server's ticker "
                         "thread");
  TS_ERR(ts_model_control_start(m, pool));
  ts_server_set_detail(server, apr_psprintf(pool, "model %s version %s, "
                                            "%ld elements, as %s",
                                            m->meta->model,
                                            m->meta->version,
                                            ts_elements_count(m->els),
                                            m->id));
  return NULL;
}

static void
stop(void *state, ts_server_t *server)
{
  ts_model_t *m = state;
  apr_pool_t *pool;

  (void)server;
  if (!m->lock)
    return;
  apr_pool_create(&pool, NULL);
  apr_thread_mutex_lock(m->lock);
  m->closing = 1;
  apr_thread_mutex_unlock(m->lock);
  ts_model_control_stop(m);
  if (m->httpd)
    ts_httpd_stop(m->httpd);
  m->httpd = NULL;
  stop_ticker(m);
  ts_elements_close(m->els);
  ts_repo_close(m->repo);
  ts_model_bus_close(m);
  if (m->port && m->credential)
    ts_model_unregister(m, pool);
  ts_model_record_remove(m, pool);
  ts_model_sessions_drop(m);
  apr_pool_destroy(pool);
}

const ts_role_t ts_role_model = {
  .name = "model",
  .summary = "a model server for one repository (a version of a managed\n"
             "model), on the first free port of p+6..p+5+max",
  .port_offset = 6,
  .start = start,
  .stop = stop,
  .check = check,
  .operand = "REPOSITORY",
  .place = place
};
