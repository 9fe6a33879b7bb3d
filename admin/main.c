/* main.c: tessera-admin, the administration program.
 *
 * Dispatches to one command per module (cmd_*.c), and is the one place
 * that turns an error into a message and a sysexits status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>

#include "admin.h"
#include "ts_httpd.h"
#include "ts_i18n.h"
#include "ts_settings.h"
#include "ts_version.h"

static const char usage[] = N_(
  "usage: tessera-admin [--help] [--version] <command> [<args>]\n"
  "\n"
  "commands:\n"
  "  env     show and change the architecture settings (INOHOST, ...)\n"
  "  ports   show the port plan derived from INOHOST\n"
  "  service register servers with systemd or the Windows service manager\n"
  "  doctor  check this machine: network drives, project directory, ports,\n"
  "          open files, message queues\n"
  "  project give INOPRJ its identity (project init)\n"
  "  license show, import, issue and sign licenses\n"
  "  status  the license server: health, bus, hub, license, seats,\n"
  "          sessions, project license servers, model servers\n"
  "  sessions list the sessions; force-release one (audited)\n"
  "  models  managed models and their versions: define, create, back up,\n"
  "          start, stop, delete, list (through an agent)\n"
  "  credential create the server credential servers prove themselves with\n"
  "  notify  mail about changes: subscribe users to models and elements,\n"
  "          unsubscribe, list (through the notification service)\n"
  "\n"
  "`tessera-admin <command> --help` describes each command.\n");

static const struct {
  const char *name;
  ts_error_t *(*run)(admin_ctx_t *ctx);
} commands[] = {
  { "env", admin_cmd_env },
  { "ports", admin_cmd_ports },
  { "service", admin_cmd_service },
  { "doctor", admin_cmd_doctor },
  { "project", admin_cmd_project },
  { "license", admin_cmd_license },
  { "status", admin_cmd_status },
  { "sessions", admin_cmd_sessions },
  { "models", admin_cmd_models },
  { "credential", admin_cmd_credential },
  { "notify", admin_cmd_notify },
};

static ts_error_t *
dispatch(admin_ctx_t *ctx, int argc, const char *const *argv)
{
  if (argc < 2)
    return ts_error_createf(TS_EUSAGE, "no command given\n%s", _(usage));
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0
      || strcmp(argv[1], "help") == 0) {
    fputs(_(usage), stdout);
    return NULL;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("%s %s\n", ctx->program, TS_VERSION);
    return NULL;
  }
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    if (strcmp(argv[1], commands[i].name) == 0) {
      ctx->argc = argc - 1;
      ctx->argv = argv + 1;
      return commands[i].run(ctx);
    }
  return ts_error_createf(TS_EUSAGE, "unknown command '%s'\n%s", argv[1],
                          _(usage));
}

int
main(int argc, const char *const *argv)
{
  admin_ctx_t ctx = { 0 };
  ts_error_t *err;
  const char *warning;
  int status;

  if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS) {
    fputs(_("tessera-admin: cannot initialize APR\n"), stderr);
    return TS_EX_OSERR;
  }
  ts_http_client_init();   /* before any thread */
  apr_pool_create(&ctx.pool, NULL);
  ctx.program = "tessera-admin";
  warning = ts_settings_speak(ctx.pool);   /* INOLANG */
  if (warning)
    fprintf(stderr, "%s: %s\n", ctx.program, warning);
  err = dispatch(&ctx, argc, argv);
  if (err) {
    fprintf(stderr, "%s: %s\n", ctx.program,
            ts_error_message(err, ctx.pool));
#ifndef NDEBUG
    for (ts_error_t *e = err; e; e = e->cause)
      if (e->file && getenv("TESSERA_DEBUG"))
        fprintf(stderr, "  at %s:%ld\n", e->file, e->line);
#endif
    status = ts_error_exit_status(err);
    ts_error_clear(err);
  }
  else
    status = ctx.exit_status;
  fflush(stdout);
  apr_pool_destroy(ctx.pool);
  apr_terminate();
  return status;
}
