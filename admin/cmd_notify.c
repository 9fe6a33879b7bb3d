/* cmd_notify.c: `tessera-admin notify`: the mail subscriptions of the
 * notification service (README, "Mail about changes"), through its HTTP
 * API on p+4 (/v1/subscriptions). Every command needs the license server
 * administrator's password (the subscriptions hold people's addresses),
 * which the service has the license server check.
 *
 * Exit statuses: 65 a refused subscription (a malformed target, address
 * or frequency, or none to remove), 69 the service does not answer, 77 a
 * wrong password. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "admin.h"
#include "ts_httpd.h"
#include "ts_settings.h"

static const char usage[] = N_(
  "usage: tessera-admin notify subscribe USER MODEL[@VERSION][/ELEMENT]\n"
  "                 --mail ADDRESS [--every immediate|daily|weekly|monthly]\n"
  "       tessera-admin notify unsubscribe USER MODEL[@VERSION][/ELEMENT]\n"
  "                 [--mail ADDRESS]\n"
  "       tessera-admin notify unsubscribe --id N\n"
  "       tessera-admin notify list [USER] [--json]\n"
  "  every command: [--notify HOST:PORT] [--as NAME] [--password-stdin]\n"
  "\n"
  "Mail about changes, sent by the notification service (default: on the\n"
  "license server's host, INOHOST, port p+4). A subscription is for an\n"
  "element (bridge@v1/42), a whole version (bridge@v1: its elements and\n"
  "its starts, stops and crashes), or without @VERSION the same in every\n"
  "version of the model. --every: immediate (default: one mail per\n"
  "change), or one digest a day, a week (Mondays) or a month (the 1st),\n"
  "made at tessera.xml's <notify digest-hour> (6:00) local time. The same\n"
  "user, target and address again changes how often. unsubscribe removes\n"
  "the user's subscriptions to the target (only the one to ADDRESS with\n"
  "--mail), or the one numbered N. Every command needs the license server\n"
  "administrator's password (asked on the terminal, or one line of\n"
  "standard input).\n");

typedef struct notify_opts_t {
  int json, from_stdin;
  const char *as, *notify, *mail, *every, *id;
  const char *host;
  int port;
} notify_opts_t;

/* The notification service to ask: --notify, or INOHOST's host on p+4. */
static ts_error_t *
find_service(notify_opts_t *o, apr_pool_t *pool)
{
  const char *colon;

  if (o->notify) {
    colon = strrchr(o->notify, ':');
    o->port = colon ? atoi(colon + 1) : 0;
    if (!colon || o->port < 1 || o->port > 65535 || colon == o->notify)
      return ts_error_createf(TS_EUSAGE, "--notify takes HOST:PORT, not "
                              "'%s'", o->notify);
    o->host = apr_pstrndup(pool, o->notify, (apr_size_t)(colon - o->notify));
    if (o->host[0] == '[' && o->host[strlen(o->host) - 1] == ']')
      o->host = apr_pstrndup(pool, o->host + 1, strlen(o->host) - 2);
    return NULL;
  }
  TS_ERR(admin_license_server(&o->host, &o->port, pool));
  o->port += 4;
  return NULL;
}

/* The service's refusal CODE, BODY as an error: bad input and a
 * subscription that is not there are the caller's to fix (65). */
static ts_error_t *
refused(int code, const char *body)
{
  json_t *answer = json_loads(body, 0, NULL);
  const char *text = json_string_value(json_object_get(answer, "error"));
  ts_errcode_t c = code == 400 || code == 404 || code == 422 ? TS_EINVAL
                   : code == 401 || code == 403 ? TS_EPERM : TS_EUNAVAIL;
  ts_error_t *err = ts_error_createf(c, "HTTP %d: %s", code,
                                     text ? text : body);

  json_decref(answer);
  return err;
}

/* METHOD PATH at the service with BODY (taken; NULL: none); *ANSWER its
 * JSON. */
static ts_error_t *
call(json_t **answer, notify_opts_t *o, const char *method,
     const char *path, json_t *body, apr_pool_t *pool)
{
  const char *auth = NULL, *text;
  char *json = body ? json_dumps(body, JSON_COMPACT) : NULL;
  int code;
  ts_error_t *err;

  json_decref(body);
  err = admin_password_header(&auth, &o->as, o->from_stdin, pool);
  if (!err)
    err = ts_http_call(&code, &text, o->host, o->port, method, path, json,
                       auth, apr_time_from_sec(30), pool);
  free(json);
  if (err && ts_error_code(err) == TS_EUNAVAIL)
    return ts_error_wrapf(err, "the notification service on %s port %d "
                          "does not answer; is it running? (`tesserad "
                          "notify`, or `tessera-admin service status "
                          "notify`; another one: --notify HOST:PORT)",
                          o->host, o->port);
  if (err)
    return err;
  if (code / 100 != 2)
    return refused(code, text);
  *answer = json_loads(text, 0, NULL);
  return NULL;
}

/* VALUE for a query string: what is not unreserved as %XX. */
static const char *
escape(const char *value, apr_pool_t *pool)
{
  char *out = apr_palloc(pool, 3 * strlen(value) + 1), *o = out;

  for (const unsigned char *c = (const unsigned char *)value; *c; c++)
    if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
               "0123456789-._~@/", *c))
      *o++ = (char)*c;
    else
      o += sprintf(o, "%%%02X", *c);
  *o = '\0';
  return out;
}

static ts_error_t *
subscribe(notify_opts_t *o, const char *user, const char *target,
          apr_pool_t *pool)
{
  json_t *answer, *s;
  const char *every = o->every ? o->every : "immediate";

  if (!o->mail)
    return admin_usage_error(usage, "subscribe needs --mail ADDRESS: where "
                             "the mails go");
  TS_ERR(call(&answer, o, "POST", "/v1/subscriptions",
              json_pack("{s:s, s:s, s:s, s:s}", "user", user, "target",
                        target, "every", every, "mail", o->mail), pool));
  s = json_object_get(answer, "subscription");
  if (o->json)
    admin_print_json(json_incref(s));
  else
    printf(_("%s is subscribed to %s (%s) at %s: subscription %ld\n"),
           json_string_value(json_object_get(s, "user")),
           json_string_value(json_object_get(s, "target")),
           json_string_value(json_object_get(s, "every")),
           json_string_value(json_object_get(s, "mail")),
           (long)json_integer_value(json_object_get(s, "id")));
  json_decref(answer);
  return NULL;
}

static ts_error_t *
unsubscribe(notify_opts_t *o, const char *user, const char *target,
            apr_pool_t *pool)
{
  json_t *answer;
  const char *path;
  long n;

  if (o->id && (user || target))
    return admin_usage_error(usage, "unsubscribe takes USER TARGET or --id "
                             "N, not both");
  if (o->id)
    path = apr_pstrcat(pool, "/v1/subscriptions/", escape(o->id, pool),
                       NULL);
  else if (user && target)
    path = apr_pstrcat(pool, "/v1/subscriptions?user=", escape(user, pool),
                       "&target=", escape(target, pool), o->mail
                       ? "&mail=" : "", o->mail ? escape(o->mail, pool) : "",
                       NULL);
  else
    return admin_usage_error(usage, "unsubscribe needs USER and "
                             "MODEL[@VERSION][/ELEMENT], or --id N");
  TS_ERR(call(&answer, o, "DELETE", path, NULL, pool));
  n = (long)json_array_size(json_object_get(answer, "removed"));
  if (o->json) {
    admin_print_json(answer);
    return NULL;
  }
  printf(ts_ntext("%ld subscription removed\n",
                  "%ld subscriptions removed\n", (unsigned long)n), n);
  json_decref(answer);
  return NULL;
}

static ts_error_t *
list(notify_opts_t *o, const char *user, apr_pool_t *pool)
{
  json_t *answer, *s;
  size_t i;

  TS_ERR(call(&answer, o, "GET", user ? apr_pstrcat(pool, "/v1/"
              "subscriptions?user=", escape(user, pool), NULL)
              : "/v1/subscriptions", NULL, pool));
  if (o->json) {
    admin_print_json(answer);
    return NULL;
  }
  printf("%6s %-16s %-32s %-9s %s\n", _("ID"), _("USER"), _("TARGET"),
         _("EVERY"), _("MAIL"));
  json_array_foreach(json_object_get(answer, "subscriptions"), i, s)
    printf("%6ld %-16s %-32s %-9s %s\n",
           (long)json_integer_value(json_object_get(s, "id")),
           json_string_value(json_object_get(s, "user")),
           json_string_value(json_object_get(s, "target")),
           json_string_value(json_object_get(s, "every")),
           json_string_value(json_object_get(s, "mail")));
  json_decref(answer);
  return NULL;
}

/* The options into O; *REST the first operand's index (-1: --help). */
static ts_error_t *
options(notify_opts_t *o, int *rest, admin_ctx_t *ctx)
{
  static const apr_getopt_option_t opts[] = {
    { "json", 'j', 0, NULL }, { "as", 'a', 1, NULL },
    { "password-stdin", 'p', 0, NULL }, { "notify", 'n', 1, NULL },
    { "mail", 'm', 1, NULL }, { "every", 'e', 1, NULL },
    { "id", 'i', 1, NULL }, { "help", 'h', 0, NULL }, { NULL, 0, 0, NULL }
  };
  apr_getopt_t *os;
  apr_status_t s;
  int ch;
  const char *arg;

  memset(o, 0, sizeof(*o));
  TS_ERR(admin_getopt_init(&os, ctx, ctx->argc, ctx->argv));
  while ((s = apr_getopt_long(os, opts, &ch, &arg)) == APR_SUCCESS) {
    switch (ch) {
    case 'j': o->json = 1; break;
    case 'a': o->as = arg; break;
    case 'p': o->from_stdin = 1; break;
    case 'n': o->notify = arg; break;
    case 'm': o->mail = arg; break;
    case 'e': o->every = arg; break;
    case 'i': o->id = arg; break;
    case 'h': fputs(_(usage), stdout); *rest = -1; return NULL;
    }
  }
  if (s != APR_EOF)
    return admin_usage_error(usage, "unknown option near '%s'",
                             os->argv[os->ind - 1]);
  *rest = os->ind;
  ctx->argv = os->argv;
  return NULL;
}

ts_error_t *
admin_cmd_notify(admin_ctx_t *ctx)
{
  notify_opts_t o;
  int at = -1, n;
  const char *verb, *a1, *a2;

  TS_ERR(options(&o, &at, ctx));
  if (at < 0)
    return NULL;
  if (at >= ctx->argc)
    return admin_usage_error(usage, "notify needs a command: subscribe, "
                             "unsubscribe or list");
  verb = ctx->argv[at];
  n = ctx->argc - at - 1;
  a1 = n >= 1 ? ctx->argv[at + 1] : NULL;
  a2 = n >= 2 ? ctx->argv[at + 2] : NULL;
  TS_ERR(find_service(&o, ctx->pool));
  if (strcmp(verb, "subscribe") == 0 && n == 2)
    return subscribe(&o, a1, a2, ctx->pool);
  if (strcmp(verb, "unsubscribe") == 0 && n <= 2)
    return unsubscribe(&o, a1, a2, ctx->pool);
  if (strcmp(verb, "list") == 0 && n <= 1)
    return list(&o, a1, ctx->pool);
  return admin_usage_error(usage, "unknown notify command or wrong number "
                           "of operands: '%s'", verb);
}
