/* main.c: tesserad, the program every Tessera server runs as:
 *
 *   tesserad <role> [--project ##.#] [--daemon | --console | --service]
 *            [--check]
 *
 * It resolves the settings, opens the role's log and hands the server to
 * the platform's service runtime (foreground or --daemon on Linux; console
 * or the service control manager on Windows). Exit codes from sysexits.h.
 */
#include <stdio.h>
#include <string.h>
#include <apr_general.h>
#include <apr_getopt.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "ts_httpd.h"
#include "ts_role_agent.h"
#include "ts_role_bus.h"
#include "ts_role_license.h"
#include "ts_role_model.h"
#include "ts_role_notify.h"
#include "ts_role_proxy.h"
#include "ts_server.h"
#include "ts_settings.h"
#include "ts_version.h"
#include "tsp.h"

/* The roles this build of tesserad runs, and those the suite has but this
 * build does not yet (SPEC §1: the agent on p+3, the notification service
 * on p+4, the proxy on p+5, model servers from p+6). */
static const ts_role_t *const roles[] = { &ts_role_license, &ts_role_bus,
                                          &ts_role_agent, &ts_role_model,
                                          &ts_role_notify, &ts_role_proxy,
                                          NULL };
static const char *const later_roles[] = { NULL };

static const char usage_head[] =
  "usage: tesserad <role> [--project ##.#] [--daemon | --console | --service]\n"
  "                [--check]\n"
  "\n"
  "Run a Tessera server. Roles in this build:\n";

static const char usage_tail[] =
  "\n"
  "  --project V  the project license server of product version V (##.#),\n"
  "               on the port tessera.xml gives it\n"
  "  (no option)  foreground (Type=notify when systemd runs it)\n"
  "  --daemon     Linux: detach (fork, setsid, fork) once serving; the pid\n"
  "               file INOLIC/logs/<role>.<port>/<role>.pid is locked\n"
  "  --console    foreground, explicitly (Windows: not as a service)\n"
  "  --service    run under the service manager: the command line of the\n"
  "               systemd unit and of the Windows service (the bus is then\n"
  "               a service of its own, not a child)\n"
  "  --check      run every check the start makes (settings, tessera.xml,\n"
  "               the license, the broker program, the ports) and say\n"
  "               what it would do; exit 0 only when it would succeed\n"
  "\n"
  "Signals (Linux): TERM/INT stop, HUP reloads and reopens the log.\n";

/* The usage text, with each role's summary from the table. */
static const char *
usage_text(apr_pool_t *pool)
{
  const char *text = usage_head;

  for (int i = 0; roles[i]; i++) {
    const char *summary = roles[i]->summary, *nl;
    text = apr_psprintf(pool, "%s  %-16s ", text, roles[i]->operand
                        ? apr_pstrcat(pool, roles[i]->name, " ",
                                      roles[i]->operand, NULL)
                        : roles[i]->name);
    while ((nl = strchr(summary, '\n')) != NULL) {
      text = apr_psprintf(pool, "%s%.*s\n%19s", text, (int)(nl - summary),
                          summary, "");
      summary = nl + 1;
    }
    text = apr_pstrcat(pool, text, summary, "\n", NULL);
  }
  return apr_pstrcat(pool, text, usage_tail, NULL);
}

/* The role named NAME, or a usage error: one the suite has but this build
 * does not, or none at all. */
static ts_error_t *
find_role(const ts_role_t **role, const char *name, apr_pool_t *pool)
{
  const char *names = NULL;

  for (int i = 0; roles[i]; i++) {
    if (strcmp(roles[i]->name, name) == 0) {
      *role = roles[i];
      return NULL;
    }
    names = names ? apr_pstrcat(pool, names, ", ", roles[i]->name, NULL)
                  : roles[i]->name;
  }
  for (int i = 0; later_roles[i]; i++)
    if (strcmp(later_roles[i], name) == 0)
      return ts_error_createf(TS_EUSAGE, "the role '%s' is not available "
                              "in this build of tesserad (available: %s)",
                              name, names);
  return ts_error_createf(TS_EUSAGE, "there is no role '%s' (roles of this "
                          "build: %s)\n%s", name, names, usage_text(pool));
}

typedef struct opts_t {
  const ts_role_t *role;
  const char *project;
  const char *operand;        /* the role's operand (ts_role_t), or NULL */
  tsp_run_mode_t mode;
  int check;
} opts_t;

static ts_error_t *
parse(opts_t *o, int *help, int argc, const char *const *argv,
      apr_pool_t *pool)
{
  static const apr_getopt_option_t table[] = {
    { "daemon", 'd', 0, NULL }, { "console", 'c', 0, NULL },
    { "service", 's', 0, NULL }, { "check", 'k', 0, NULL },
    { "help", 'h', 0, NULL }, { "version", 'v', 0, NULL },
    { "project", 'p', 1, NULL },
    { NULL, 0, 0, NULL }
  };
  apr_getopt_t *os;
  apr_status_t s;
  int ch;
  const char *arg;

  memset(o, 0, sizeof(*o));
  *help = 0;
  o->mode = TSP_RUN_FOREGROUND;
  apr_getopt_init(&os, pool, argc, argv);
  os->interleave = 1;
  os->errfn = NULL;
  while ((s = apr_getopt_long(os, table, &ch, &arg)) == APR_SUCCESS) {
    switch (ch) {
    case 'd': o->mode = TSP_RUN_DAEMON; break;
    case 'c': o->mode = TSP_RUN_FOREGROUND; break;
    case 's': o->mode = TSP_RUN_SERVICE; break;
    case 'k': o->check = 1; break;
    case 'p': o->project = arg; break;
    case 'h': *help = 1; break;
    case 'v': *help = 2; break;
    }
  }
  if (s != APR_EOF)
    return ts_error_createf(TS_EUSAGE, "unknown option '%s'\n%s",
                            os->argv[os->ind - 1], usage_text(pool));
  if (*help)
    return NULL;
  if (os->ind >= argc)
    return ts_error_createf(TS_EUSAGE, "name one role\n%s",
                            usage_text(pool));
  TS_ERR(find_role(&o->role, os->argv[os->ind], pool));
  if (o->role->operand && os->ind != argc - 2)
    return ts_error_createf(TS_EUSAGE, "tesserad %s takes one %s: "
                            "tesserad %s %s", o->role->name,
                            o->role->operand, o->role->name,
                            o->role->operand);
  if (!o->role->operand && os->ind != argc - 1)
    return ts_error_createf(TS_EUSAGE, "name one role\n%s",
                            usage_text(pool));
  o->operand = o->role->operand ? os->argv[os->ind + 1] : NULL;
  if (o->project && (strlen(o->project) != 4 || !apr_isdigit(o->project[0])
                     || !apr_isdigit(o->project[1]) || o->project[2] != '.'
                     || !apr_isdigit(o->project[3])))
    return ts_error_createf(TS_EUSAGE, "--project takes a product version "
                            "written ##.# (e.g. 26.1), not '%s'",
                            o->project);
  return NULL;
}

/* --check: what a start of SERVER would do, by the checks the start
 * makes (ts_server_check); an error when it would fail, or would run
 * without a license in force. */
static ts_error_t *
check_only(ts_server_t *server, const ts_role_t *role, apr_pool_t *pool)
{
  ts_server_plan_t *plan;
  ts_error_t *err = ts_server_check(&plan, server, 1, pool);

  printf("tesserad %s --check:\n", role->name);
  for (int i = 0; i < plan->lines->nelts; i++)
    printf("  %s\n", APR_ARRAY_IDX(plan->lines, i, const char *));
  for (int i = 0; i < plan->warnings->nelts; i++)
    printf("  warning: %s\n", APR_ARRAY_IDX(plan->warnings, i,
                                            const char *));
  if (err) {
    ts_error_clear(plan->degraded);
    return ts_error_wrapf(err, "the %s server would not start", role->name);
  }
  if (plan->degraded)
    return plan->degraded;
  if (plan->running)
    printf("the %s server would start again once the running one (pid %ld) "
           "stopped\n", role->name, plan->running);
  else
    printf("the %s server would start\n", role->name);
  return NULL;
}

static ts_error_t *
run(int *status, int argc, const char *const *argv, apr_pool_t *pool)
{
  opts_t o;
  int help;
  tsp_settings_t *store;
  ts_server_t *server;
  tsp_service_hooks_t hooks;
  tsp_service_options_t options = { 0 };

  *status = TS_EX_OK;
  TS_ERR(parse(&o, &help, argc, argv, pool));
  if (help == 1) {
    fputs(usage_text(pool), stdout);
    return NULL;
  }
  if (help == 2) {
    printf("tesserad %s\n", TS_VERSION);
    return NULL;
  }
  TS_ERR(ts_settings_open_store(&store, NULL, pool));
  /* log to stderr in the foreground, and under systemd, whose journal
   * takes it; a Windows service has the log file and the event log */
  TS_ERR_W(ts_server_create(&server, o.role, o.project, o.operand, store,
                            (o.mode != TSP_RUN_SERVICE
                             || tsp_stderr_is_journal()) && !o.check,
                            o.mode == TSP_RUN_SERVICE, pool),
           o.check ? "the %s server would not start"
                   : "cannot start the %s server", o.role->name);
  if (o.check)
    return check_only(server, o.role, pool);
  ts_server_hooks(&hooks, server);
  options.name = o.project ? apr_pstrcat(pool, "tessera-", o.role->name,
                                         "-", o.project, NULL)
                           : apr_pstrcat(pool, "tessera-", o.role->name,
                                         NULL);
  options.mode = o.mode;
  options.pidfile = ts_server_pidfile(server);
  options.stop_deadline = apr_time_from_sec(20);
  options.log = ts_server_log(server);
  return tsp_service_run(status, &options, &hooks, pool);
}

int
main(int argc, const char *const *argv)
{
  apr_pool_t *pool;
  ts_error_t *err;
  int status;

  if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS) {
    fputs("tesserad: cannot initialize APR\n", stderr);
    return TS_EX_OSERR;
  }
  ts_http_client_init();   /* before any thread */
  tsp_allocator_tune();
  apr_pool_create(&pool, NULL);
  err = run(&status, argc, argv, pool);
  if (err) {
    fprintf(stderr, "tesserad: %s\n", ts_error_text(err, pool));
    status = ts_error_exit_status(err);
    ts_error_clear(err);
  }
  apr_pool_destroy(pool);
  apr_terminate();
  return status;
}
