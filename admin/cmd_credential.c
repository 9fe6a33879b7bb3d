/* cmd_credential.c: `tessera-admin credential init`: the server
 * credential (ts_credential.h), with which Tessera's servers prove
 * themselves to the license server. The license server creates it at its
 * first start too; this command makes it beforehand (e.g. before copying
 * it to the other machines) and says where it is and how another machine
 * gets it. An existing credential is kept: replacing it would lock out
 * every server that has a copy. */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>

#include "admin.h"
#include "ts_credential.h"
#include "ts_file.h"
#include "ts_settings.h"

static const char usage[] =
  N_("usage: tessera-admin credential init [--json]\n"
  "\n"
  "init creates the server credential INODIR/server.key (32 random bytes,\n"
  "owner-only; run as root on Linux, it is handed to the service account)\n"
  "unless it exists, and says where it is. Model servers, agents, proxies\n"
  "and project license servers send a key derived from it with every\n"
  "request that registers, heartbeats or unregisters; the license server\n"
  "refuses those without it. Every machine of an installation needs the\n"
  "same file: INODIR may be shared, or copy the file keeping it owner-only.\n");

/* Print where the credential is and how other machines get it. */
static void
explain(const char *path, int created, int given, const char *account,
        int json)
{
  if (json) {
    admin_print_json(json_pack("{s:s, s:b, s:s?}", "path", path, "created",
                               created, "owner", given ? account : NULL));
    return;
  }
  printf(created ? _("created the server credential %s\n")
                 : _("kept the existing server credential %s\n"), path);
  if (given)
    printf(_("it belongs to the service account '%s', which the services run "
           "as\n"), account);
  printf(_("servers on other machines need the same file in their INODIR: "
         "share INODIR, or copy it, e.g.\n"
         "  scp -p %s HOST:%s\n"
         "and there make it owner-only and owned by the account the "
         "servers run as\n  (Linux: chown tessera: %s && chmod 600 %s)\n"),
         path, path, path, path);
}

ts_error_t *
admin_cmd_credential(admin_ctx_t *ctx)
{
  static const apr_getopt_option_t opts[] = {
    { "json", 'j', 0, NULL }, { "help", 'h', 0, NULL }, { NULL, 0, 0, NULL }
  };
  apr_getopt_t *os;
  apr_status_t s;
  int ch, json = 0, created = 0, given = 0;
  const char *arg, *inodir, *path, *account = tsp_service_account();
  tsp_settings_t *store;
  ts_settings_t *settings;
  const ts_setting_value_t *v;
  ts_credential_t *cred;

  TS_ERR(admin_getopt_init(&os, ctx, ctx->argc, ctx->argv));
  while ((s = apr_getopt_long(os, opts, &ch, &arg)) == APR_SUCCESS) {
    if (ch == 'j')
      json = 1;
    else if (ch == 'h') {
      fputs(_(usage), stdout);
      return NULL;
    }
  }
  if (s != APR_EOF)
    return admin_usage_error(usage, "unknown option near '%s'",
                             os->argv[os->ind - 1]);
  if (os->ind + 1 != ctx->argc || strcmp(os->argv[os->ind], "init") != 0)
    return admin_usage_error(usage, "use `credential init`");
  TS_ERR(admin_open_store(&store, ctx->pool));
  TS_ERR(ts_settings_resolve(&settings, store, ctx->pool, ctx->pool));
  v = ts_settings_get(settings, "INODIR");
  if (v->problem)
    return ts_setting_invalid(settings, v, ctx->pool);
  inodir = v->value;
  path = ts_credential_path(inodir, ctx->pool);
  TS_ERR_W(ts_dir_make(inodir, TS_FPROT_DIR, ctx->pool), "cannot create "
           "INODIR %s for the server credential", inodir);
  TS_ERR(ts_credential_ensure(&cred, &created, path, ctx->pool));
  /* made by root, the file would be root's: the services could not read
   * it (without the account yet, `service install` hands it over) */
  if (tsp_is_privileged())
    TS_ERR(tsp_file_give_to(&given, path, account, ctx->pool));
  explain(path, created, given, account, json);
  return NULL;
}
