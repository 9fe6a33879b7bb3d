/* ts_server.c: a server's life (see ts_server.h): what every role shares
 * from the settings to the stop, around the role's own hooks (ts_role.h).
 * The HTTP side every role's ports share is in ts_server_sites.c. */
#include "ts_server_impl.h"

#include <stdlib.h>
#include <string.h>
#include <apr_file_info.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_user.h>

#include "ts_file.h"
#include "ts_i18n.h"
#include "ts_settings.h"
#include "ts_version.h"

/* Descriptors a server keeps for itself (logs, the session store, the
 * bus, its children's pipes, the listening sockets and their threads'
 * wake-ups, a few connections admitted at once by racing threads); the
 * rest of the open-files limit is room for client connections. */
#define RESERVED_FDS 128

/* Without a per-process limit (Windows): the room for client
 * connections. */
#define UNLIMITED_ROOM 10000

/* One client address may hold this fraction of the room, so that one
 * client (or an attacker) cannot take it all while hosts behind one
 * address (a terminal server, a NAT) still fit. */
#define PER_CLIENT_SHARE 4

/* Below this much room a warning says to raise the limit. */
#define LOW_ROOM 64

/* V's problem, in English (TEXT[0]) and for people (TEXT[1]): "INOHOST
 * 'x' from the user file: why", a sentence for each source. */
static void
problem_of(const char *text[2], const ts_setting_value_t *v,
           apr_pool_t *pool)
{
  ts_error_t *err = ts_setting_validate(v->def, v->value, pool);
  const char *why[2] = { v->problem, v->problem };

  if (err) {
    why[0] = ts_error_root_text(err, pool);
    why[1] = ts_error_root_message(err, pool);
    ts_error_clear(err);
  }
#define PROBLEM(fmt)                                                    \
  (text[0] = apr_psprintf(pool, fmt, v->def->name, v->value, why[0]),   \
   text[1] = apr_psprintf(pool, _(fmt), v->def->name, v->value, why[1]))
  text[0] = why[0];   /* a source not below: the problem alone */
  text[1] = why[1];
  switch (v->source) {
  case TSP_SRC_DEFAULT:
    PROBLEM(N_("%s '%s' from the default: %s"));
    break;
  case TSP_SRC_PROCESS_ENV:
    PROBLEM(N_("%s '%s' from the process environment: %s"));
    break;
  case TSP_SRC_USER_FILE:
    PROBLEM(N_("%s '%s' from the user file: %s"));
    break;
  case TSP_SRC_SYSTEM_FILE:
    PROBLEM(N_("%s '%s' from the system file: %s"));
    break;
  case TSP_SRC_HKCU:
    PROBLEM(N_("%s '%s' from HKCU: %s"));
    break;
  case TSP_SRC_HKLM:
    PROBLEM(N_("%s '%s' from HKLM: %s"));
    break;
  }
#undef PROBLEM
}

/* The invalid settings, joined by "; ", in English (TEXT[0]) and for
 * people (TEXT[1]); 0 when there are none. */
static int
problems_of(const char *text[2], const ts_settings_t *settings,
            apr_pool_t *pool)
{
  int n = 0;

  text[0] = text[1] = "";
  for (int i = 0; i < settings->values->nelts; i++) {
    const ts_setting_value_t *v = &APR_ARRAY_IDX(settings->values, i,
                                                 ts_setting_value_t);
    const char *one[2];
    if (!v->problem)
      continue;
    problem_of(one, v, pool);
    for (int l = 0; l < 2; l++)
      text[l] = apr_pstrcat(pool, text[l], n ? "; " : "", one[l], NULL);
    n++;
  }
  return n;
}

#define NOT_PRIVATE N_("the license directory %s (INOLIC) is not private: " \
  "%s; another account could plant a link there that makes this server " \
  "(running as %s) overwrite or append to a file of its choosing. Make it " \
  "private: %s")
#define SUB_NOT_PRIVATE N_("the license directory %s (INOLIC) is not " \
  "private: %s: %s; another account could plant a link there that makes " \
  "this server (running as %s) overwrite or append to a file of its " \
  "choosing. Make it private: %s")

/* The error for DIR (INOLIC or a directory in it) that other accounts may
 * write, WHY (tsp_dir_others_may_write) quoted in each language. */
static ts_error_t *
not_private(const char *inolic, const char *dir, ts_error_t *why,
            const char *fix, apr_pool_t *pool)
{
  const char *en = ts_error_text(why, pool), *local = ts_error_message(why,
                                                                      pool);
  const char *who = ts_account_name(pool);

  if (!who)
    who = "?";
  ts_error_clear(why);
  if (strcmp(dir, inolic) == 0)
    return ts_error_create_texts(TS_ECONFIG,
      apr_psprintf(pool, NOT_PRIVATE, inolic, en, who, fix),
      apr_psprintf(pool, _(NOT_PRIVATE), inolic, local, who, fix));
  return ts_error_create_texts(TS_ECONFIG,
    apr_psprintf(pool, SUB_NOT_PRIVATE, inolic, dir, en, who, fix),
    apr_psprintf(pool, _(SUB_NOT_PRIVATE), inolic, dir, local, who, fix));
}

/* DIR, and the directories in it DEPTH levels down, must be private to
 * this server's account: another account that may write there could
 * plant a link where the server writes (its log, pid file, audit log,
 * session store), and a server run as root would overwrite or append to
 * whatever file the link names. */
static ts_error_t *
check_private(const char *inolic, const char *dir, int depth,
              apr_pool_t *pool)
{
  const char *fix;
  ts_error_t *why = tsp_dir_others_may_write(&fix, dir, pool);
  apr_dir_t *d;
  apr_finfo_t fi;

  if (why)
    return not_private(inolic, dir, why, fix, pool);
  if (depth == 0 || tsp_sys.dir_open(&d, dir, pool) != APR_SUCCESS)
    return NULL;
  while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d)
         == APR_SUCCESS) {
    ts_error_t *err;
    if ((fi.filetype != APR_DIR && fi.filetype != APR_LNK)
        || strcmp(fi.name, ".") == 0 || strcmp(fi.name, "..") == 0)
      continue;
    err = check_private(inolic, ts_path_join(dir, fi.name, pool), depth - 1,
                        pool);
    if (err) {
      apr_dir_close(d);
      return err;
    }
  }
  apr_dir_close(d);
  return NULL;
}

/* The directories of INOLIC a server writes in: INOLIC itself (the
 * session store), logs/ and each directory in it (logs, pid files, the
 * audit log, the bus broker's configuration), projects/ and each project
 * license server's directory. Not the bus broker's persistence
 * (INOLIC/bus.<p+1>/), which is its account's to write, not this
 * server's. */
static ts_error_t *
check_inolic(const char *inolic, apr_pool_t *pool)
{
  TS_ERR(check_private(inolic, inolic, 0, pool));
  TS_ERR(check_private(inolic, ts_path_join(inolic, "logs", pool), 1, pool));
  return check_private(inolic, ts_path_join(inolic, "projects", pool), 1,
                       pool);
}

/* tessera.xml, and the port: p' for a project license server. */
static ts_error_t *
load_config(ts_server_t *server, const char *project, apr_pool_t *pool)
{
  ts_server_info_t *info = &server->info;
  ts_config_t *config;

  TS_ERR(ts_config_load(&config, ts_config_path(info->inolic, pool),
                        pool));
  if (config->path)
    TS_ERR(ts_config_check(config, info->main_port, pool));
  info->config = config;
  info->port = info->main_port;
  if (project) {
    const ts_project_t *p = ts_config_project(config, project);
    if (!p)
      return ts_error_createf(TS_ECONFIG, "there is no project license "
        "server %s in %s: add <project version=\"%s\" port=\"...\"/> "
        "to <license-server> (see config/blueprints/tessera-full.xml)",
        project, ts_config_path(info->inolic, pool), project);
    info->port = p->port;
  }
  info->port += info->role->port_offset;
  return NULL;
}

ts_error_t *
ts_server_create(ts_server_t **server_p, const ts_role_t *role,
                 const char *project, const char *operand,
                 tsp_settings_t *store, int to_stderr, int as_service,
                 apr_pool_t *pool)
{
  ts_server_t *server = apr_pcalloc(pool, sizeof(*server));
  ts_server_info_t *info = &server->info;
  ts_settings_t *settings;
  const char *problems[2], *dir, *speak, *agent_port;

  TS_ERR(ts_settings_resolve(&settings, store, pool, pool));
#define INVALID_SETTINGS N_("invalid settings: %s; fix with " \
                             "`tessera-admin env set NAME VALUE`")
  if (problems_of(problems, settings, pool))
    return ts_error_create_texts(TS_ECONFIG,
      apr_psprintf(pool, INVALID_SETTINGS, problems[0]),
      apr_psprintf(pool, _(INVALID_SETTINGS), problems[1]));
  server->settings = settings;
  server->store = store;
  server->pool = pool;
  info->role = role;
  info->project = project;
  info->as_service = as_service;
  info->inolic = ts_settings_get(settings, "INOLIC")->value;
  info->inodir = ts_settings_get(settings, "INODIR")->value;
  info->inoprj = ts_settings_get(settings, "INOPRJ")->value;
  info->inonotify = ts_settings_get(settings, "INONOTIFY")->value;
  info->operand = operand;
  /* a role that places its files elsewhere does not write in INOLIC */
  if (!role->place)
    TS_ERR(check_inolic(info->inolic, pool));
  TS_ERR(ts_inohost_parse(&info->host, &info->main_port,
                          ts_settings_get(settings, "INOHOST")->value,
                          pool));
  agent_port = ts_settings_get(settings, "INOAGENTPORT")->value;
  info->agent_port = agent_port ? atoi(agent_port) : info->main_port + 3;
  TS_ERR(load_config(server, project, pool));
  /* INOLIC/logs/<role>.<port>/ (SPEC §5) */
  dir = ts_path_join(info->inolic, apr_psprintf(pool, "logs/%s.%d",
                                                role->name, info->port),
                     pool);
  info->logdir = dir;
  server->logfile = ts_path_join(dir, apr_pstrcat(pool, role->name, ".log",
                                                  NULL), pool);
  server->pidfile = ts_path_join(dir, apr_pstrcat(pool, role->name, ".pid",
                                                  NULL), pool);
  if (role->place)
    TS_ERR(role->place(info, &server->logfile, &server->pidfile, pool));
  TS_ERR(ts_log_open(&info->log, server->logfile, to_stderr,
                     to_stderr && tsp_stderr_is_journal(), pool));
  /* INOLANG: the language of answers to clients (logs stay English) */
  speak = ts_settings_speak(pool);
  if (speak)
    ts_log(info->log, TS_LOG_WARNING, "%s", speak);
  *server_p = server;
  return NULL;
}

const char *
ts_server_config_path(const ts_server_t *server)
{
  return server->info.config->path;
}

const char *
ts_server_pidfile(const ts_server_t *server)
{
  return server->pidfile;
}

ts_log_t *
ts_server_log(const ts_server_t *server)
{
  return server->info.log;
}

int
ts_server_port(const ts_server_t *server)
{
  return server->info.port;
}

const ts_server_info_t *
ts_server_info(const ts_server_t *server)
{
  return &server->info;
}

const char *
ts_server_machine(const ts_server_info_t *info, apr_pool_t *pool)
{
  char name[APRMAXHOSTLEN + 1];

  if (info->config->machine)
    return info->config->machine;
  if (apr_gethostname(name, sizeof(name), pool) != APR_SUCCESS)
    return "localhost";
  return apr_pstrdup(pool, name);
}

void
ts_server_set_port(ts_server_t *server, int port)
{
  server->info.port = port;
}

void
ts_server_set_detail(ts_server_t *server, const char *detail)
{
  server->detail = apr_pstrdup(server->pool, detail);
}

ts_error_t *
ts_server_start_broker(ts_bus_broker_t **broker, ts_server_t *server,
                       int port, const ts_bus_login_t *login,
                       apr_pool_t *pool)
{
  const ts_server_info_t *info = &server->info;
  ts_bus_broker_options_t o = { 0 };

  o.program = info->config->bus_program;
  o.port = port;
  o.listen = info->config->listen;
  o.logdir = ts_path_join(info->inolic, apr_psprintf(pool, "logs/bus.%d",
                                                     port), pool);
  o.persistence = info->config->bus_persistence
                  ? ts_path_join(info->inolic, apr_psprintf(pool, "bus.%d",
                                                            port), pool)
                  : NULL;
  o.server = login;
  o.owner = apr_psprintf(pool, "the %s server on port %d", info->role->name,
                         info->port);
  return ts_bus_broker_start(broker, &o, info->log, pool);
}

/* Raise the open-files limit and make what it leaves (the room for
 * client connections) the budget of every HTTP port of the server; the
 * line says the budget as the listeners enforce it. */
static void
budget_connections(ts_server_t *server)
{
  ts_log_t *log = server->info.log;
  long soft = 1024, hard = 1024, room;
  ts_error_t *err = tsp_fd_limit_raise(&soft, &hard, 0);

  if (err) {
    ts_log_error(log, TS_LOG_WARNING, err, "open-files limit (assumed "
                 "1024)");
    ts_error_clear(err);
  }
  room = soft < 0 ? UNLIMITED_ROOM : soft - RESERVED_FDS;
  server->budget = ts_httpd_budget_create(room, room / PER_CLIENT_SHARE,
                                          server->pool);
  room = ts_httpd_budget_connections(server->budget);
  if (soft < 0)
    ts_log(log, TS_LOG_INFO, "open files: no per-process limit applies: "
           "room for %ld client connections, at most %ld from one client "
           "address", room, ts_httpd_budget_per_client(server->budget));
  else
    ts_log(log, room < LOW_ROOM ? TS_LOG_WARNING : TS_LOG_INFO, "open "
           "files: soft limit %ld, hard limit %ld: room for %ld client "
           "connections, at most %ld from one client address%s", soft,
           hard, room, ts_httpd_budget_per_client(server->budget),
           room < LOW_ROOM ? "; too few: raise the hard limit (systemd: "
           "LimitNOFILE= in the unit; otherwise ulimit -Hn)" : "");
}

static void
stop(void *baton)
{
  ts_server_t *server = baton;

  ts_log(server->info.log, TS_LOG_INFO, "stopping");
  if (server->state)
    server->info.role->stop(server->state, server);
  server->state = NULL;
  ts_log(server->info.log, TS_LOG_INFO, "stopped");
}

static ts_error_t *
start(void *baton, tsp_service_t *service)
{
  ts_server_t *server = baton;
  const ts_server_info_t *info = &server->info;
  ts_server_plan_t *plan;
  ts_error_t *err;

  if (info->port)
    ts_log(info->log, TS_LOG_INFO, "%s server %s starting on port %d (log "
           "%s)", info->role->name, TS_VERSION, info->port, server->logfile);
  else
    ts_log(info->log, TS_LOG_INFO, "%s server %s starting (log %s)",
           info->role->name, TS_VERSION, server->logfile);
  budget_connections(server);
  /* what `tesserad --check` runs: the start fails as the check says */
  err = ts_server_check(&plan, server, 0, server->pool);
  for (int i = 0; i < plan->warnings->nelts; i++)
    ts_log(info->log, TS_LOG_WARNING, "%s", APR_ARRAY_IDX(plan->warnings, i,
                                                           const char *));
  /* what the server would run without, the role meets again and logs
   * as it starts (no license in force) */
  ts_error_clear(plan->degraded);
  if (err) {
    ts_log_error(info->log, TS_LOG_ERROR, err, "cannot start");
    return err;
  }
  server->started = apr_time_now();
  err = info->role->start(&server->state, server, server->pool);
  if (err) {
    ts_log_error(info->log, TS_LOG_ERROR, err, "cannot start");
    stop(server);
    return err;
  }
  tsp_service_status(service, apr_psprintf(server->pool, "serving on port "
                                            "%d", info->port));
  ts_log(info->log, TS_LOG_INFO, "serving on port %d%s%s%s", info->port,
         server->detail ? " (" : "", server->detail ? server->detail : "",
         server->detail ? ")" : "");
  return NULL;
}

/* The settings again (HUP, PARAMCHANGE): each one that differs from
 * those the server started with is logged with where it comes from now.
 * None applies before a restart (the server's port, directories and
 * identity come from them), so the server keeps running on the settings
 * it started with, and says so each time until it is restarted. */
static ts_error_t *
recheck_settings(ts_server_t *server, apr_pool_t *scratch_pool)
{
  const ts_server_info_t *info = &server->info;
  ts_settings_t *now;
  const char *problems[2];
  int changed = 0;

  TS_ERR_W(ts_settings_resolve(&now, server->store, scratch_pool,
                               scratch_pool), "cannot read the settings "
           "again; the %s server keeps those it started with",
           info->role->name);
#define INVALID_NOW N_("the settings are invalid now: %s; the %s server " \
  "keeps those it started with; fix with `tessera-admin env set NAME VALUE`")
  if (problems_of(problems, now, scratch_pool))
    return ts_error_create_texts(TS_ECONFIG,
      apr_psprintf(scratch_pool, INVALID_NOW, problems[0], info->role->name),
      apr_psprintf(scratch_pool, _(INVALID_NOW), problems[1],
                   info->role->name));
  for (int i = 0; i < now->values->nelts; i++) {
    const ts_setting_value_t *v = &APR_ARRAY_IDX(now->values, i,
                                                 ts_setting_value_t);
    const ts_setting_value_t *was = ts_settings_get(server->settings,
                                                    v->def->name);
    const char *a = was && was->value ? was->value : "(unset)";
    const char *b = v->value ? v->value : "(unset)";
    if (strcmp(a, b) == 0)
      continue;
    changed++;
    ts_log(info->log, TS_LOG_WARNING, "settings: %s is '%s' now (from the "
           "%s), not '%s' as when the %s server started; %s", v->def->name,
           b, ts_source_name(v->source), a, info->role->name,
           v->def->restart ? apr_psprintf(scratch_pool, "it takes effect "
                                          "after a restart of: %s; until "
                                          "then this server keeps '%s'",
                                          v->def->restart, a)
                           : "it needs no restart");
  }
  if (!changed)
    ts_log(info->log, TS_LOG_INFO, "settings read again: as when the "
           "server started");
  return NULL;
}

static ts_error_t *
reload(void *baton, apr_pool_t *scratch_pool)
{
  ts_server_t *server = baton;
  const ts_server_info_t *info = &server->info;

  TS_ERR(ts_log_reopen(info->log));
  ts_log(info->log, TS_LOG_INFO, "reloading: log file reopened");
  if (info->role->reload)
    TS_ERR(info->role->reload(server->state, server));
  return recheck_settings(server, scratch_pool);
}

void
ts_server_hooks(tsp_service_hooks_t *hooks, ts_server_t *server)
{
  hooks->baton = server;
  hooks->start = start;
  hooks->reload = reload;
  hooks->stop = stop;
}
