/* cmd_models.c: `tessera-admin models`: the managed models of the project
 * directory and their versions, through an agent (README, "Agents and
 * model servers"). Listing needs nothing; every change needs the license
 * server administrator's password, which the agent has the license
 * server check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "admin.h"
#include "ts_httpd.h"
#include "ts_settings.h"

static const char usage[] = N_(
  "usage: tessera-admin models list [--json]\n"
  "       tessera-admin models define MODEL --product P [--check REGEX]\n"
  "                 [--proposal TEMPLATE] [--quota-ram MB] [--quota-disk MB]\n"
  "                 [--restart]\n"
  "       tessera-admin models create MODEL [VERSION] [--from VERSION]\n"
  "       tessera-admin models backup MODEL/VERSION [NAME]\n"
  "       tessera-admin models start MODEL/VERSION [--backup]\n"
  "       tessera-admin models stop MODEL/VERSION [--backup]\n"
  "       tessera-admin models delete MODEL/VERSION [--backup]\n"
  "  every command: [--agent HOST:PORT] [--as NAME] [--password-stdin]\n"
  "\n"
  "Managed models and their versions in the project directory, through an\n"
  "agent (default: this machine's, on INOAGENTPORT or p+3). list shows\n"
  "every version, its state (stopped, starting, running, stopping,\n"
  "crashed) and where it runs, as every agent sharing the directory sees\n"
  "it. A version runs at most once. create makes an empty version or, with\n"
  "--from, a successor copied from another; VERSION defaults to the\n"
  "model's naming proposal. backup makes a read-only copy (--backup names\n"
  "it later). Changes need the license server administrator's password\n"
  "(asked on the terminal, or one line of standard input).\n");

typedef struct models_opts_t {
  int json, from_stdin, backup, restart;
  const char *as, *agent, *product, *check, *proposal, *from;
  const char *quota_ram, *quota_disk;
  const char *host;
  int port;
} models_opts_t;

/* The agent to ask: --agent, or this machine's. */
static ts_error_t *
find_agent(models_opts_t *o, apr_pool_t *pool)
{
  tsp_settings_t *store;
  ts_settings_t *settings;
  const ts_setting_value_t *v;
  const char *colon;
  int p;

  if (o->agent) {
    colon = strrchr(o->agent, ':');
    o->port = colon ? atoi(colon + 1) : 0;
    if (!colon || o->port < 1 || o->port > 65535 || colon == o->agent)
      return ts_error_createf(TS_EUSAGE, "--agent takes HOST:PORT, not '%s'",
                              o->agent);
    o->host = apr_pstrndup(pool, o->agent, (apr_size_t)(colon - o->agent));
    return NULL;
  }
  TS_ERR(admin_open_store(&store, pool));
  TS_ERR(ts_settings_resolve(&settings, store, pool, pool));
  v = ts_settings_get(settings, "INOHOST");
  if (v->problem)
    return ts_setting_invalid(settings, v, pool);
  TS_ERR(ts_inohost_parse(&o->host, &p, v->value, pool));
  v = ts_settings_get(settings, "INOAGENTPORT");
  o->port = v->value ? atoi(v->value) : p + 3;
  o->host = "localhost";
  return NULL;
}

/* The agent's refusal CODE, BODY as an error: bad input and conflicts
 * are the caller's to fix (65), as in the rest of tessera-admin. */
static ts_error_t *
refused(int code, const char *body)
{
  json_t *answer = json_loads(body, 0, NULL);
  const char *text = json_string_value(json_object_get(answer, "error"));
  ts_errcode_t c = code == 400 || code == 409 ? TS_EINVAL
                   : code == 404 ? TS_ENOENT
                   : code == 401 || code == 403 ? TS_EPERM : TS_EUNAVAIL;
  ts_error_t *err = ts_error_createf(c, "HTTP %d: %s", code,
                                     text ? text : body);

  json_decref(answer);
  return err;
}

/* METHOD PATH at the agent with BODY (JSON text or NULL); *ANSWER its
 * JSON. A change asks for the password first. */
static ts_error_t *
call(json_t **answer, models_opts_t *o, const char *method,
     const char *path, json_t *body, int change, apr_pool_t *pool)
{
  const char *auth = NULL, *text;
  char *json = body ? json_dumps(body, JSON_COMPACT) : NULL;
  int code;
  ts_error_t *err = NULL;

  json_decref(body);
  if (change)
    err = admin_password_header(&auth, &o->as, o->from_stdin, pool);
  if (!err)
    err = ts_http_call(&code, &text, o->host, o->port, method, path, json,
                       auth, apr_time_from_sec(60), pool);
  free(json);
  if (err)
    return ts_error_wrapf(err, "the agent on %s port %d does not answer; is "
                          "it running? (`tesserad agent`, or `tessera-admin "
                          "service status agent`)", o->host, o->port);
  if (code / 100 != 2)
    return refused(code, text);
  *answer = json_loads(text, 0, NULL);
  return NULL;
}

/* MODEL/VERSION into its parts. */
static ts_error_t *
split(const char **model, const char **version, const char *arg,
      apr_pool_t *pool)
{
  const char *slash = strchr(arg, '/');

  if (!slash || slash == arg || !slash[1] || strchr(slash + 1, '/'))
    return ts_error_createf(TS_EUSAGE, "name a version as MODEL/VERSION, "
                            "not '%s'", arg);
  *model = apr_pstrndup(pool, arg, (apr_size_t)(slash - arg));
  *version = slash + 1;
  return NULL;
}

static void
print_list(json_t *list, apr_pool_t *pool)
{
  json_t *v;
  size_t i;

  printf("%-32s %-9s %-20s %6s %8s %6s\n", _("MODEL/VERSION"), _("STATE"),
         _("HOST"), _("PORT"), _("PID"), _("USERS"));
  json_array_foreach(json_object_get(list, "versions"), i, v) {
    const char *host = json_string_value(json_object_get(v, "host"));
    json_t *users = json_object_get(v, "users");
    printf("%-32s %-9s %-20s %6ld %8ld %6s\n",
           apr_psprintf(pool, "%s%s/%s",
                        json_is_true(json_object_get(v, "read_only"))
                        ? "(backup) " : "",
                        json_string_value(json_object_get(v, "model")),
                        json_string_value(json_object_get(v, "version"))),
           json_string_value(json_object_get(v, "state")),
           host ? host : "-",
           (long)json_integer_value(json_object_get(v, "port")),
           (long)json_integer_value(json_object_get(v, "pid")),
           json_is_array(users) ? apr_ltoa(pool,
                                           (long)json_array_size(users))
                                : "-");
    if (json_is_string(json_object_get(v, "reason")))
      printf("    %s\n", json_string_value(json_object_get(v, "reason")));
  }
}

static ts_error_t *
define(models_opts_t *o, const char *model, apr_pool_t *pool)
{
  json_t *body, *answer;

  if (!o->product)
    return admin_usage_error(usage, "define needs --product: the product "
                             "whose seats the model's users take");
  body = json_pack("{s:s, s:s?, s:s?, s:o, s:o, s:b}", "product", o->product,
                   "check", o->check, "proposal", o->proposal,
                   "quota_ram_mb", o->quota_ram && *o->quota_ram
                   ? json_integer(atol(o->quota_ram)) : json_null(),
                   "quota_disk_mb", o->quota_disk && *o->quota_disk
                   ? json_integer(atol(o->quota_disk)) : json_null(),
                   "restart", o->restart);
  TS_ERR(call(&answer, o, "PUT", apr_psprintf(pool, "/v1/models/%s", model),
              body, 1, pool));
  if (o->json)
    admin_print_json(answer);
  else {
    printf(_("model %s defined: product %s\n"), model, o->product);
    json_decref(answer);
  }
  return NULL;
}

static ts_error_t *
create(models_opts_t *o, const char *model, const char *version,
       apr_pool_t *pool)
{
  json_t *answer;
  json_t *body = json_pack("{s:s?, s:s?, s:s?}", "version", version, "from",
                           o->from, "login", o->as);

  TS_ERR(call(&answer, o, "POST", apr_psprintf(pool, "/v1/models/%s/"
                                               "versions", model), body, 1,
              pool));
  if (o->json)
    admin_print_json(answer);
  else {
    if (o->from)
      printf(_("version %s/%s created from %s\n"), model,
             json_string_value(json_object_get(answer, "version")), o->from);
    else
      printf(_("version %s/%s created (empty)\n"), model,
             json_string_value(json_object_get(answer, "version")));
    json_decref(answer);
  }
  return NULL;
}

/* start, stop, delete, backup of MODEL/VERSION. */
static ts_error_t *
act(models_opts_t *o, const char *verb, const char *arg, const char *name,
    apr_pool_t *pool)
{
  const char *model = NULL, *version = NULL, *path;
  json_t *answer, *body = NULL;
  const char *q = o->backup ? "?backup=1" : "";

  TS_ERR(split(&model, &version, arg, pool));
  path = apr_psprintf(pool, "/v1/models/%s/versions/%s", model, version);
  if (strcmp(verb, "delete") == 0)
    TS_ERR(call(&answer, o, "DELETE", apr_pstrcat(pool, path, q, NULL),
                NULL, 1, pool));
  else {
    if (strcmp(verb, "backup") == 0)
      body = name ? json_pack("{s:s}", "name", name) : json_object();
    TS_ERR(call(&answer, o, "POST", apr_pstrcat(pool, path, "/", verb, q,
                                                NULL), body, 1, pool));
  }
  if (o->json) {
    admin_print_json(answer);
    return NULL;
  }
  if (strcmp(verb, "start") == 0)
    printf(_("%s/%s runs on %s port %ld (pid %ld)\n"), model, version,
           json_string_value(json_object_get(answer, "host")),
           (long)json_integer_value(json_object_get(answer, "port")),
           (long)json_integer_value(json_object_get(answer, "pid")));
  else if (strcmp(verb, "stop") == 0)
    printf(_("%s/%s stopped\n"), model, version);
  else if (strcmp(verb, "delete") == 0)
    printf(_("%s/%s deleted\n"), model, version);
  else
    printf(_("%s/%s backed up as %s (read-only)\n"), model, version,
           json_string_value(json_object_get(answer, "backup")));
  json_decref(answer);
  return NULL;
}

/* The options into O; *REST the first operand's index. */
static ts_error_t *
options(models_opts_t *o, int *rest, admin_ctx_t *ctx)
{
  static const apr_getopt_option_t opts[] = {
    { "json", 'j', 0, NULL }, { "as", 'a', 1, NULL },
    { "password-stdin", 'p', 0, NULL }, { "agent", 'g', 1, NULL },
    { "product", 'P', 1, NULL }, { "check", 'c', 1, NULL },
    { "proposal", 'o', 1, NULL }, { "quota-ram", 'r', 1, NULL },
    { "quota-disk", 'd', 1, NULL }, { "restart", 'R', 0, NULL },
    { "from", 'f', 1, NULL }, { "backup", 'b', 0, NULL },
    { "help", 'h', 0, NULL }, { NULL, 0, 0, NULL }
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
    case 'g': o->agent = arg; break;
    case 'P': o->product = arg; break;
    case 'c': o->check = arg; break;
    case 'o': o->proposal = arg; break;
    case 'r': o->quota_ram = arg; break;
    case 'd': o->quota_disk = arg; break;
    case 'R': o->restart = 1; break;
    case 'f': o->from = arg; break;
    case 'b': o->backup = 1; break;
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
admin_cmd_models(admin_ctx_t *ctx)
{
  models_opts_t o;
  int at = -1, n;
  const char *verb, *a1, *a2;
  json_t *answer;

  TS_ERR(options(&o, &at, ctx));
  if (at < 0)
    return NULL;
  if (at >= ctx->argc)
    return admin_usage_error(usage, "models needs a command: list, define, "
                             "create, backup, start, stop or delete");
  verb = ctx->argv[at];
  n = ctx->argc - at - 1;
  a1 = n >= 1 ? ctx->argv[at + 1] : NULL;
  a2 = n >= 2 ? ctx->argv[at + 2] : NULL;
  TS_ERR(find_agent(&o, ctx->pool));
  if (strcmp(verb, "list") == 0 && n == 0) {
    TS_ERR(call(&answer, &o, "GET", "/v1/versions", NULL, 0, ctx->pool));
    if (o.json)
      admin_print_json(answer);
    else {
      print_list(answer, ctx->pool);
      json_decref(answer);
    }
    return NULL;
  }
  if (strcmp(verb, "define") == 0 && n == 1)
    return define(&o, a1, ctx->pool);
  if (strcmp(verb, "create") == 0 && (n == 1 || n == 2))
    return create(&o, a1, a2, ctx->pool);
  if (strcmp(verb, "backup") == 0 && (n == 1 || n == 2))
    return act(&o, verb, a1, a2, ctx->pool);
  if ((strcmp(verb, "start") == 0 || strcmp(verb, "stop") == 0
       || strcmp(verb, "delete") == 0) && n == 1)
    return act(&o, verb, a1, NULL, ctx->pool);
  return admin_usage_error(usage, "unknown models command or wrong number "
                           "of operands: '%s'", verb);
}
