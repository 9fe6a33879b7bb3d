/* cmd_sessions.c: `tessera-admin sessions`: the license server's sessions,
 * and the administrator's force-release of one, which the server audits
 * with who and why. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_user.h>
#include <sodium.h>

#include "admin.h"
#include "ts_file.h"

static const char usage[] =
  N_("usage: tessera-admin sessions list [--json]\n"
  "       tessera-admin sessions release ID --reason TEXT [--as NAME]\n"
  "                                     [--password-stdin]\n"
  "\n"
  "list shows the live sessions of the license server INOHOST names.\n"
  "release frees session ID now, e.g. of a client that hung; it needs the\n"
  "administrator's password (asked on the terminal, or one line from\n"
  "standard input with --password-stdin) and a reason; the audit log\n"
  "records NAME (default: your account), the reason and this machine.\n");

/* Sessions asked for per request: a page of about 125 KB. */
#define PAGE 500

/* One page of the sessions after AFTER (NULL: the first) appended to ALL;
 * NEXT receives the next page's start, "" after the last page. */
static ts_error_t *
get_page(json_t *all, char next[65], const char *host, int port,
         const char *after, apr_pool_t *pool)
{
  const char *path = apr_psprintf(pool, "/v1/sessions?limit=%d%s%s", PAGE,
                                  after ? "&after=" : "", after ? after : "");
  const char *body;
  json_t *j, *page, *n;
  int code;

  TS_ERR(admin_http(&code, &body, host, port, "GET", path, NULL, NULL,
                    pool));
  j = json_loads(body, 0, NULL);
  page = json_object_get(j, "sessions");
  n = json_object_get(j, "next");   /* absent: a server without pages */
  if (code != 200 || !json_is_array(page)
      || (n && !json_is_null(n) && (!json_is_string(n)
                                    || strlen(json_string_value(n)) > 64
                                    || (after && strcmp(after,
                                        json_string_value(n)) == 0)))) {
    json_decref(j);
    return ts_error_createf(TS_EUNAVAIL, "%s port %d answered GET %s with "
                            "HTTP %d, not as a Tessera license server does",
                            host, port, path, code);
  }
  json_array_extend(all, page);
  apr_cpystrn(next, json_is_string(n) ? json_string_value(n) : "", 65);
  json_decref(j);
  return NULL;
}

ts_error_t *
admin_sessions_get(json_t **sessions, const char *host, int port,
                   apr_pool_t *pool)
{
  json_t *all = json_array();
  char after[65] = "";
  apr_pool_t *iterpool;
  ts_error_t *err;

  apr_pool_create(&iterpool, pool);
  do {
    char next[65];
    apr_pool_clear(iterpool);
    err = get_page(all, next, host, port, *after ? after : NULL, iterpool);
    memcpy(after, next, sizeof(after));
  } while (!err && *after);
  apr_pool_destroy(iterpool);
  if (err) {
    json_decref(all);
    return err;
  }
  *sessions = all;
  return NULL;
}

static ts_error_t *
list(admin_ctx_t *ctx, const char *host, int port, int json)
{
  json_t *sessions, *p;
  size_t i;

  TS_ERR(admin_sessions_get(&sessions, host, port, ctx->pool));
  if (json) {
    admin_print_json(json_pack("{s:o}", "sessions", sessions));
    return NULL;
  }
  printf("%-24s  %-12s %-20s %8s  %s\n", _("SESSION"), _("PRODUCT"),
         _("USER@HOST"), _("PID"), _("APPLICATION"));
  json_array_foreach(sessions, i, p)
    printf("%-24s  %-12s %-20s %8ld  %s\n",
           json_string_value(json_object_get(p, "id")),
           json_string_value(json_object_get(p, "product")),
           apr_pstrcat(ctx->pool, json_string_value(json_object_get(p,
                       "user")), "@", json_string_value(json_object_get(p,
                       "host")), NULL),
           (long)json_integer_value(json_object_get(p, "pid")),
           json_string_value(json_object_get(p, "application")));
  json_decref(sessions);
  return NULL;
}

ts_error_t *
admin_password_header(const char **header, const char **as,
                      int from_stdin, apr_pool_t *pool)
{
  char pw[256], cred[512], b64[700];

  if (!*as)
    *as = ts_account_name(pool) ? ts_account_name(pool) : "admin";
  if (from_stdin) {
    if (!fgets(pw, sizeof(pw), stdin))
      return ts_error_createf(TS_EINVAL, "no password on standard input");
    pw[strcspn(pw, "\r\n")] = '\0';
  }
  else {
    apr_size_t n = sizeof(pw);
    if (apr_password_get(_("license server administrator's password: "), pw,
                         &n))
      return ts_error_createf(TS_EUSAGE, "cannot read a password from the "
                              "terminal; use --password-stdin in scripts");
  }
  apr_snprintf(cred, sizeof(cred), "%s:%s", *as, pw);
  sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)cred,
                    strlen(cred), sodium_base64_VARIANT_ORIGINAL);
  sodium_memzero(pw, sizeof(pw));
  sodium_memzero(cred, sizeof(cred));
  *header = apr_psprintf(pool, "Authorization: Basic %s\r\n", b64);
  sodium_memzero(b64, sizeof(b64));
  return NULL;
}

ts_error_t *
admin_refused(int code, const char *body)
{
  json_t *answer = json_loads(body, 0, NULL);
  const char *text = json_string_value(json_object_get(answer, "error"));
  ts_error_t *err = ts_error_createf(code == 404 ? TS_ENOENT
                                     : code == 401 || code == 403
                                       ? TS_EPERM : TS_EUNAVAIL,
                                     "HTTP %d: %s", code,
                                     text ? text : body);

  json_decref(answer);
  return err;
}

static ts_error_t *
release(admin_ctx_t *ctx, const char *host, int port, const char *id,
        const char *reason, const char *as, int from_stdin)
{
  const char *body, *json, *auth;
  int code;
  json_t *j;
  ts_error_t *err = NULL;

  if (!reason || !*reason)
    return admin_usage_error(usage, "release needs --reason: it goes to the "
                             "audit log");
  if (strspn(id, "0123456789abcdef") != strlen(id) || !*id)
    return ts_error_createf(TS_EINVAL, "'%s' is not a session id (hex); see "
                            "`tessera-admin sessions list`", id);
  TS_ERR(admin_password_header(&auth, &as, from_stdin, ctx->pool));
  j = json_pack("{s:s}", "reason", reason);
  json = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  err = admin_http(&code, &body, host, port, "POST",
                   apr_psprintf(ctx->pool, "/v1/sessions/%s/release", id),
                   json, auth, ctx->pool);
  free((void *)json);
  TS_ERR(err);
  if (code != 200)
    return ts_error_wrapf(admin_refused(code, body), "the license server "
                          "refused the release of session %s", id);
  printf(_("session %s released by %s (audited: %s)\n"), id, as, reason);
  return NULL;
}

ts_error_t *
admin_cmd_sessions(admin_ctx_t *ctx)
{
  static const apr_getopt_option_t opts[] = {
    { "json", 'j', 0, NULL }, { "reason", 'r', 1, NULL },
    { "as", 'a', 1, NULL }, { "password-stdin", 'p', 0, NULL },
    { "help", 'h', 0, NULL }, { NULL, 0, 0, NULL }
  };
  apr_getopt_t *os;
  apr_status_t s;
  int ch, json = 0, from_stdin = 0, port;
  const char *arg, *reason = NULL, *as = NULL, *verb, *host;

  TS_ERR(admin_getopt_init(&os, ctx, ctx->argc, ctx->argv));
  while ((s = apr_getopt_long(os, opts, &ch, &arg)) == APR_SUCCESS) {
    switch (ch) {
    case 'j': json = 1; break;
    case 'r': reason = arg; break;
    case 'a': as = arg; break;
    case 'p': from_stdin = 1; break;
    case 'h': fputs(_(usage), stdout); return NULL;
    }
  }
  if (s != APR_EOF)
    return admin_usage_error(usage, "unknown option near '%s'",
                             os->argv[os->ind - 1]);
  if (os->ind >= ctx->argc)
    return admin_usage_error(usage, "sessions needs list or release");
  verb = os->argv[os->ind];
  TS_ERR(admin_license_server(&host, &port, ctx->pool));
  if (strcmp(verb, "list") == 0 && os->ind + 1 == ctx->argc)
    return list(ctx, host, port, json);
  if (strcmp(verb, "release") == 0 && os->ind + 2 == ctx->argc)
    return release(ctx, host, port, os->argv[os->ind + 1], reason, as,
                   from_stdin);
  return admin_usage_error(usage, "use `sessions list` or `sessions release "
                           "ID --reason TEXT`");
}
