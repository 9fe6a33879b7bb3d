/* cmd_service.c: `tessera-admin service`, registering Tessera servers with
 * the operating system's service manager (systemd units on Linux, Windows
 * services). Services belong to all-users installations (SPEC §3): without
 * administrator rights the command refuses and says what to do instead. */
#include <stdio.h>
#include <string.h>
#include <apr_file_info.h>
#include <apr_strings.h>

#include "admin.h"
#include "ts_credential.h"
#include "ts_file.h"
#include "ts_settings.h"

/* The roles of tesserad (server/main.c) that run as services, with what
 * the service manager shows about them. The admin program names them
 * here rather than linking the roles' code for their names. */
static const struct {
  const char *role, *description;
} services[] = {
  { "license", "Tessera license server: licenses, seats, the model-server "
               "registry and the hub" },
  { "bus", "Tessera bus: the license server's MQTT broker (mosquitto) on "
           "p+1" },
  { "agent", "Tessera agent: starts and stops the model versions of the "
             "project directory INOPRJ on this machine" },
  { "notify", "Tessera notification service: status and change notices "
              "as Server-Sent Events and by mail, on p+4" },
  { "proxy", "Tessera proxy: one port (p+5) for every model server of "
             "this machine" },
};
#define NSERVICES (sizeof(services) / sizeof(services[0]))

/* The server credential in INODIR, made now unless it exists, for SPEC's
 * account to own (it must read it, and it is owner-only, and cannot
 * create it in INODIR itself): the services it starts present or check
 * it, and the bus password of Tessera's servers derives from it. */
static ts_error_t *
server_credential(tsp_service_spec_t *spec, const char *inodir,
                  apr_pool_t *pool)
{
  const char *path = ts_credential_path(inodir, pool);
  const char **owned = apr_pcalloc(pool, 2 * sizeof(char *));
  ts_credential_t *cred;
  int created;

  TS_ERR_W(ts_dir_make(inodir, TS_FPROT_DIR, pool), "cannot create INODIR "
           "%s for the server credential", inodir);
  TS_ERR(ts_credential_ensure(&cred, &created, path, pool));
  printf(created ? _("created the server credential %s (servers on other "
                   "machines need a copy: `tessera-admin credential init "
                   "--help`)\n")
                 : _("using the server credential %s (servers on other "
                   "machines need a copy: `tessera-admin credential init "
                   "--help`)\n"), path);
  owned[0] = path;
  spec->owned = owned;
  return NULL;
}

static const char usage[] =
  N_("usage: tessera-admin service install|uninstall|start|stop|status <role>\n"
  "                             [--program PATH] [--json]\n"
  "\n"
  "Register a Tessera server with the service manager: on Linux a systemd\n"
  "unit (Type=notify, running as the user 'tessera', reading\n"
  "/etc/tessera/environment), on Windows a service running as\n"
  "LocalService with restart on failure. Roles: license (the license\n"
  "server with its hub), bus (its MQTT broker on p+1: under a service\n"
  "manager the bus is a service of its own), agent (p+3), notify (the\n"
  "notification service, p+4), proxy (p+5).\n"
  "\n"
  "  --program PATH  the tesserad to register (default: the one installed\n"
  "                  beside tessera-admin)\n"
  "  --json          machine-readable status\n");

/* A service's STATE (tsp_service_query) for people. */
static const char *
state_label(const char *state)
{
  static const char *const labels[] = {
    N_("running"), N_("stopped"), N_("starting"), N_("stopping"),
    N_("failed"), N_("not installed"), N_("paused"), NULL
  };

  for (int i = 0; labels[i]; i++)
    if (strcmp(state, labels[i]) == 0)
      return _(labels[i]);
  return state;
}

static const char *
find_tesserad(apr_pool_t *pool)
{
  static const char *const places[] = { "", "../sbin/", "../server/", NULL };
  const char *self, *name;
  char *dir, *candidate;
  apr_finfo_t fi;

  if (tsp_program_path(&self, pool))
    return NULL;
  name = strstr(self, "tessera-admin");
  if (!name)
    return NULL;
  dir = apr_pstrndup(pool, self, name - self);
  for (int i = 0; places[i]; i++) {
    candidate = apr_pstrcat(pool, dir, places[i], "tesserad",
                            name + strlen("tessera-admin"), NULL);
    if (apr_filepath_merge(&candidate, NULL, candidate, APR_FILEPATH_NATIVE,
                           pool) == APR_SUCCESS
        && apr_stat(&fi, candidate, APR_FINFO_TYPE, pool) == APR_SUCCESS
        && fi.filetype == APR_REG)
      return candidate;
  }
  return NULL;
}

/* `service install`: the settings the service needs written explicitly,
 * the server credential, the unit or service registered and started. */
static ts_error_t *
install(tsp_service_spec_t *spec, tsp_settings_t *store,
        const char *program, apr_pool_t *pool)
{
  const char **writable = apr_pcalloc(pool, 4 * sizeof(char *));
  const char *warning, *state, *detail;
  ts_settings_t *settings;

  TS_ERR(ts_settings_resolve(&settings, store, pool, pool));
  if (ts_settings_get(settings, "INOHOST")->problem
      || ts_settings_get(settings, "INOLIC")->problem)
    return ts_error_createf(TS_ECONFIG, "the settings are invalid; "
                            "`tessera-admin env show` says which");
  /* Refuse before anything is written. */
  TS_ERR(ts_check_local_dir(&warning, "INOPRJ",
                            ts_settings_get(settings, "INOPRJ")->value,
                            tsp_services_refuse_remote_projects(), pool));
  if (warning)
    fprintf(stderr, _("warning: %s\n"), warning);
  /* The service runs as another user, whose defaults would differ:
   * make the directories it uses explicit in the all-users settings. */
  for (const char *const *n = (const char *const[]){ "INOLIC", "INODIR",
       "INOPRJ", NULL }; *n; n++) {
    const ts_setting_value_t *v = ts_settings_get(settings, *n);
    if (v->source == TSP_SRC_DEFAULT) {
      TS_ERR(ts_settings_set(store, TS_SCOPE_ALL, *n, v->value, pool));
      printf(_("%s = %s written to %s (the service's default)\n"), *n,
             v->value, tsp_settings_location(store, TS_SCOPE_ALL));
    }
  }
  /* the agent writes in the project directory: its log and state under
   * ivm/logs, its record under ivm (the service account gets these;
   * repositories made by another account the doctor checks, with the
   * fix), and so does the proxy (its log under ivm/logs); the others in
   * INOLIC */
  if (strcmp(spec->role, "agent") == 0
      || strcmp(spec->role, "proxy") == 0) {
    const char *prj = ts_settings_get(settings, "INOPRJ")->value;
    writable[0] = prj;
    writable[1] = ts_path_join(prj, "ivm", pool);
    writable[2] = ts_path_join(prj, "ivm/logs", pool);
  }
  else if (strcmp(spec->role, "notify") == 0) {
    /* its logs and its mail queue: INONOTIFY, else INOPRJ/inonotify */
    const ts_setting_value_t *v = ts_settings_get(settings, "INONOTIFY");
    writable[0] = v->value && *v->value ? v->value
                  : ts_path_join(ts_settings_get(settings, "INOPRJ")->value,
                                 "inonotify", pool);
  }
  else
    writable[0] = ts_settings_get(settings, "INOLIC")->value;
  spec->writable = writable;
  TS_ERR(server_credential(spec, ts_settings_get(settings, "INODIR")->value,
                           pool));
  spec->program = program ? program : find_tesserad(pool);
  if (!spec->program)
    return ts_error_createf(TS_ENOENT, "cannot find tesserad beside "
                            "tessera-admin; name it with --program PATH");
  TS_ERR(tsp_service_install(spec, pool));
  printf(_("%s installed and started (%s)\n"), spec->name, spec->program);
  if (strcmp(spec->role, "license") == 0) {
    /* under the service manager the bus is a service of its own */
    tsp_service_spec_t bus = *spec;
    ts_error_t *err;
    bus.role = "bus";
    bus.name = "tessera-bus";
    err = tsp_service_query(&state, &detail, &bus, pool);
    if (!err && strcmp(state, "not installed") == 0)
      printf(_("note: the bus (port p+1) runs as a service of its own; "
               "install it with %s\n"), tsp_privileged_command(
               "tessera-admin service install bus", pool));
    ts_error_clear(err);
  }
  return NULL;
}

/* `service status`: the state, and exit 69 unless it runs. */
static ts_error_t *
status(admin_ctx_t *ctx, const tsp_service_spec_t *spec, int json)
{
  const char *state, *detail;

  TS_ERR(tsp_service_query(&state, &detail, spec, ctx->pool));
  if (json)
    admin_print_json(json_pack("{s:s, s:s, s:s}", "service", spec->name,
                               "state", state, "detail", detail));
  else
    printf("%s: %s\n", spec->name, state_label(state));
  if (strcmp(state, "running") != 0)
    ctx->exit_status = TS_EX_UNAVAILABLE;
  return NULL;
}

/* The subcommand and role of the command line, checked; SPEC's
 * description from the role. */
static ts_error_t *
parse_target(const char **verb, tsp_service_spec_t *spec,
             const char *const *args, apr_pool_t *pool)
{
  const char *names = NULL;

  *verb = args[0];
  spec->role = args[1];
  for (size_t i = 0; i < NSERVICES; i++) {
    if (strcmp(services[i].role, spec->role) == 0)
      spec->description = services[i].description;
    names = names ? apr_pstrcat(pool, names, ", ", services[i].role, NULL)
                  : services[i].role;
  }
  if (!spec->description)
    return admin_usage_error(usage, "'%s' is not a role of this build "
                             "(roles: %s)", spec->role, names);
  if (strcmp(*verb, "install") && strcmp(*verb, "uninstall")
      && strcmp(*verb, "start") && strcmp(*verb, "stop")
      && strcmp(*verb, "status"))
    return admin_usage_error(usage, "unknown service subcommand '%s'",
                             *verb);
  return NULL;
}

ts_error_t *
admin_cmd_service(admin_ctx_t *ctx)
{
  static const apr_getopt_option_t opts[] = {
    { "program", 'p', 1, NULL }, { "json", 'j', 0, NULL },
    { "help", 'h', 0, NULL }, { NULL, 0, 0, NULL }
  };
  apr_getopt_t *os;
  apr_status_t s;
  int ch, json = 0;
  const char *arg, *verb, *program = NULL;
  tsp_service_spec_t spec = { 0 };
  const tsp_settings_roots_t *roots;
  tsp_settings_t *store;

  TS_ERR(admin_getopt_init(&os, ctx, ctx->argc, ctx->argv));
  while ((s = apr_getopt_long(os, opts, &ch, &arg)) == APR_SUCCESS) {
    if (ch == 'h') {
      fputs(_(usage), stdout);
      return NULL;
    }
    if (ch == 'j')
      json = 1;
    else
      program = arg;
  }
  if (s != APR_EOF || ctx->argc - os->ind != 2)
    return admin_usage_error(usage, "service takes a subcommand and a role");
  TS_ERR(parse_target(&verb, &spec, os->argv + os->ind, ctx->pool));
  spec.name = apr_pstrcat(ctx->pool, "tessera-", spec.role, NULL);
  spec.account = tsp_service_account();
  spec.nofile = 65536;
  /* the unit's EnvironmentFile= is where the settings store lives */
  TS_ERR(ts_settings_open_store(&store, &roots, ctx->pool));
  spec.sysconfdir = roots->sysconfdir;

  if (strcmp(verb, "status") == 0)
    return status(ctx, &spec, json);
  if (!tsp_is_privileged())
    return ts_error_createf(TS_EPERM, "services belong to all-users "
      "installations, and this user lacks the administrator rights they "
      "need.\n  For a current-user installation run the server yourself: "
      "`tesserad %s` (foreground) or `tesserad %s --daemon` (Linux, "
      "detached).\n  For the service, run %s.", spec.role, spec.role,
      tsp_privileged_command(apr_psprintf(ctx->pool, "tessera-admin service"
                             " %s %s", verb, spec.role), ctx->pool));
  if (strcmp(verb, "install") == 0)
    return install(&spec, store, program, ctx->pool);
  if (strcmp(verb, "uninstall") == 0) {
    TS_ERR(tsp_service_uninstall(&spec, ctx->pool));
    printf(_("%s stopped and removed; licenses, logs and settings are kept\n"),
           spec.name);
    return NULL;
  }
  TS_ERR(tsp_service_control(&spec, strcmp(verb, "start") == 0, ctx->pool));
  printf(strcmp(verb, "start") == 0 ? _("%s started\n") : _("%s stopped\n"),
         spec.name);
  return NULL;
}
