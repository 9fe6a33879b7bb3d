/* cmd_doctor.c: `tessera-admin doctor` (the environment checks of SPEC §4)
 * and `tessera-admin project init` (a project directory's identity). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "admin.h"
#include "ts_doctor.h"
#include "ts_project.h"

static const char usage[] = N_(
  "usage: tessera-admin doctor [--json] [--fix [--yes]] [--connections N]\n"
  "                            [--account NAME]\n"
  "\n"
  "Check this machine for Tessera: settings, project and license\n"
  "directories on network drives, the shared project directory (uuid\n"
  "file, ivm), the ports p..p+5 and the model-server range, open-file\n"
  "limits, and System V message queues (limit, use, stale queues).\n"
  "Every finding names the path, port or value, why it matters and the\n"
  "command that fixes it. Exit 0 without errors, 78 with errors; else 77\n"
  "when INOPRJ could not be checked as an --account (that needs root),\n"
  "65 when an --account does not exist on this machine.\n"
  "\n"
  "  --fix            apply the safe fixes, each one printed; asks first:\n"
  "                   create INOPRJ's missing identity and ivm/logs (as\n"
  "                   `project init`), remove stale message queues of\n"
  "                   Tessera's account\n"
  "  --yes            do not ask (for scripts)\n"
  "  --connections N  client connections to plan open files for (1000)\n"
  "  --account NAME   an account agents run as: INOPRJ is checked as that\n"
  "                   account (repeat for several; needs root on Linux);\n"
  "                   the first is the service account whose stale queues\n"
  "                   --fix removes (default tessera)\n"
  "  --json           machine-readable output\n");

static const char project_usage[] = N_(
  "usage: tessera-admin project init [--name NAME]\n"
  "\n"
  "Give INOPRJ its identity, <NAME>.inoprj.uuid (NAME defaults to the\n"
  "directory's name), and create ivm/logs. Does nothing to a directory\n"
  "that has a uuid file already.\n");

static void
print_human(const ts_doctor_t *doc)
{
  static const ts_severity_t order[] = { TS_SEV_ERROR, TS_SEV_WARNING,
                                         TS_SEV_INFO };
  for (int o = 0; o < 3; o++) {
    int shown = 0;
    for (int i = 0; i < doc->findings->nelts; i++) {
      const ts_finding_t *f = &APR_ARRAY_IDX(doc->findings, i, ts_finding_t);
      if (f->severity != order[o])
        continue;
      if (!shown++)
        printf("%s%s\n", o ? "\n" : "", order[o] == TS_SEV_ERROR
               ? _("errors:") : order[o] == TS_SEV_WARNING ? _("warnings:")
               : _("info:"));
      printf("  [%s] %s\n", f->check, f->local);
      if (f->fix_local)
        printf(_("      fix: %s\n"), f->fix_local);
    }
  }
}

static json_t *
as_json(const ts_doctor_t *doc, int errors, int warnings)
{
  json_t *list = json_array(), *unchecked = json_array();

  for (int i = 0; i < doc->findings->nelts; i++) {
    const ts_finding_t *f = &APR_ARRAY_IDX(doc->findings, i, ts_finding_t);
    json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s?}",
      "severity", ts_severity_name(f->severity), "check", f->check,
      "subject", f->subject, "message", f->message, "fix", f->fix));
  }
  for (int i = 0; doc->unchecked && i < doc->unchecked->nelts; i++)
    json_array_append_new(unchecked, json_string(
      APR_ARRAY_IDX(doc->unchecked, i, const char *)));
  return json_pack("{s:o, s:i, s:i, s:o}", "findings", list, "errors",
                   errors, "warnings", warnings, "not_checked_as",
                   unchecked);
}

static int
count(const ts_doctor_t *doc, ts_severity_t severity)
{
  int n = 0;
  for (int i = 0; i < doc->findings->nelts; i++)
    n += APR_ARRAY_IDX(doc->findings, i, ts_finding_t).severity == severity;
  return n;
}

/* --fix: *ACCOUNT, the account whose stale message queues it removes (the
 * first --account, else the service account), must exist; one named that
 * does not is refused. The service account missing here (no `service
 * install` yet): *ACCOUNT NULL, no queue is removed. */
static ts_error_t *
queue_owner(const char **account, apr_pool_t *pool)
{
  ts_error_t *err = tsp_account_exists(*account ? *account
                                                : tsp_service_account(),
                                       pool);

  if (!err) {
    if (!*account)
      *account = tsp_service_account();
    return NULL;
  }
  if (*account) {
    /* the reason inside the sentence is for people: only tessera-admin
     * runs this, and prints the error's text in their language */
    ts_error_t *refusal = ts_error_createf(TS_EINVAL, "doctor --fix would "
      "remove the stale message queues of the account %s (the first "
      "--account), but %s; nothing was checked or changed. Name the account "
      "Tessera's servers run as first (`tessera`, which `tessera-admin "
      "service install` creates)", *account, ts_error_message(err, pool));
    ts_error_clear(err);
    return refusal;
  }
  ts_error_clear(err);
  return NULL;
}

/* The findings, as JSON or for people; returns the exit status. */
static int
report(const ts_doctor_t *doc, int json, apr_pool_t *pool)
{
  int errors = count(doc, TS_SEV_ERROR), warnings = count(doc,
                                                          TS_SEV_WARNING);

  if (json)
    admin_print_json(as_json(doc, errors, warnings));
  else {
    print_human(doc);
    printf(ts_ntext("\n%d error", "\n%d errors", errors), errors);
    printf(ts_ntext(", %d warning", ", %d warnings", warnings), warnings);
    if (doc->unchecked)
      printf(_("; INOPRJ was not checked as %s"),
             apr_array_pstrcat(pool, doc->unchecked, ','));
    putchar('\n');
  }
  /* errors first: what was found matters more than what was not looked
   * at */
  return errors ? TS_EX_CONFIG : doc->unchecked_status;
}

/* Ask whether to apply the safe fixes (removing the stale queues of
 * ACCOUNT, unless NULL). */
static int
confirm_fixes(const char *account)
{
  char answer[16];

  if (account)
    printf(_("Apply the safe fixes: give INOPRJ its identity and ivm/logs "
             "where they are missing, and remove the stale message queues "
             "of the account '%s'?"), account);
  else
    fputs(_("Apply the safe fixes: give INOPRJ its identity and ivm/logs "
            "where they are missing?"), stdout);
  fputs(" [y/N] ", stdout);   /* the answer is read as y or n */
  fflush(stdout);
  if (!fgets(answer, sizeof(answer), stdin))
    return 0;
  return answer[0] == 'y' || answer[0] == 'Y';
}

ts_error_t *
admin_cmd_doctor(admin_ctx_t *ctx)
{
  static const apr_getopt_option_t opts[] = {
    { "json", 'j', 0, NULL }, { "fix", 'f', 0, NULL }, { "yes", 'y', 0, NULL },
    { "connections", 'c', 1, NULL }, { "account", 'a', 1, NULL },
    { "help", 'h', 0, NULL },
    { NULL, 0, 0, NULL }
  };
  apr_getopt_t *os;
  apr_status_t s;
  int ch, json = 0, fix = 0, yes = 0;
  const char *arg, *account = NULL;
  apr_array_header_t *accounts = apr_array_make(ctx->pool, 4,
                                                sizeof(const char *));
  char *end;
  tsp_settings_t *store;
  ts_doctor_t doc = { 0 };

  doc.connections = 1000;
  TS_ERR(admin_getopt_init(&os, ctx, ctx->argc, ctx->argv));
  while ((s = apr_getopt_long(os, opts, &ch, &arg)) == APR_SUCCESS) {
    switch (ch) {
    case 'h': fputs(_(usage), stdout); return NULL;
    case 'j': json = 1; break;
    case 'f': fix = 1; break;
    case 'y': yes = 1; break;
    case 'a':
      APR_ARRAY_PUSH(accounts, const char *) = arg;
      if (!account)
        account = arg;
      break;
    case 'c':
      doc.connections = strtol(arg, &end, 10);
      if (*end || doc.connections < 1)
        return admin_usage_error(usage, "--connections takes a positive "
                                 "number, not '%s'", arg);
      break;
    }
  }
  if (s != APR_EOF || os->ind != ctx->argc)
    return admin_usage_error(usage, "doctor takes no arguments");
  if (fix && !yes && json)
    return admin_usage_error(usage, "--fix with --json needs --yes (there "
                             "is nobody to ask)");
  if (fix)
    TS_ERR(queue_owner(&account, ctx->pool));
  else if (!account)
    account = tsp_service_account();
  if (fix && !yes && !confirm_fixes(account))
    fix = 0;
  TS_ERR(admin_open_store(&store, ctx->pool));
  TS_ERR(ts_settings_resolve(&doc.settings, store, ctx->pool, ctx->pool));
  doc.pool = ctx->pool;
  doc.fix = fix;
  doc.findings = apr_array_make(ctx->pool, 16, sizeof(ts_finding_t));

  ts_doctor_check_settings(&doc);
  ts_doctor_check_config(&doc);
  ts_doctor_check_network_drives(&doc);
  ts_doctor_check_project(&doc);
  doc.named = accounts->nelts;
  ts_doctor_check_scenarios(&doc, accounts);
  if (!accounts->nelts) {
    /* nobody named: the account the services run as */
    APR_ARRAY_PUSH(accounts, const char *) = tsp_service_account();
    doc.account_implicit = 1;
  }
  APR_ARRAY_PUSH(accounts, const char *) = NULL;
  ts_doctor_check_access(&doc, (const char *const *)accounts->elts);
  ts_doctor_check_ports(&doc);
  ts_doctor_check_files(&doc);
  ts_doctor_check_msgqueues(&doc, account);

  ctx->exit_status = report(&doc, json, ctx->pool);
  return NULL;
}

ts_error_t *
admin_cmd_project(admin_ctx_t *ctx)
{
  static const apr_getopt_option_t opts[] = {
    { "name", 'n', 1, NULL }, { "help", 'h', 0, NULL }, { NULL, 0, 0, NULL }
  };
  apr_getopt_t *os;
  apr_status_t s;
  int ch;
  const char *arg, *name = NULL, *prj, *path;
  tsp_settings_t *store;
  ts_settings_t *settings;
  const ts_setting_value_t *v;

  TS_ERR(admin_getopt_init(&os, ctx, ctx->argc, ctx->argv));
  while ((s = apr_getopt_long(os, opts, &ch, &arg)) == APR_SUCCESS) {
    if (ch == 'h') {
      fputs(_(project_usage), stdout);
      return NULL;
    }
    name = arg;
  }
  if (s != APR_EOF || ctx->argc - os->ind != 1
      || strcmp(os->argv[os->ind], "init") != 0)
    return admin_usage_error(project_usage, "project takes the subcommand "
                             "init");
  TS_ERR(admin_open_store(&store, ctx->pool));
  TS_ERR(ts_settings_resolve(&settings, store, ctx->pool, ctx->pool));
  v = ts_settings_get(settings, "INOPRJ");
  if (v->problem)
    return ts_setting_invalid(settings, v, ctx->pool);
  prj = v->value;
  TS_ERR(ts_project_init(&path, prj, name, ctx->pool));
  printf(_("%s identifies the project directory %s; %s/ivm/logs exists\n"),
         path, prj, prj);
  return NULL;
}
