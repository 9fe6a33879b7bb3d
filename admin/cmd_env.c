/* cmd_env.c: `tessera-admin env`, the architecture settings (SPEC §2).
 *
 * show/get read the effective settings with their provenance; set/unset
 * change one scope. A value is validated before anything is written, and a
 * refusal prints what is wrong, the accepted form and a good example.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_env.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "admin.h"
#include "ts_doctor.h"
#include "ts_ports.h"
#include "ts_settings.h"

/* (the hint in parentheses last: --help shows the lines before it) */
static const char synopsis[] = N_(
  "usage: tessera-admin env show [--json]\n"
  "       tessera-admin env get NAME [--json]\n"
  "       tessera-admin env set NAME VALUE [--scope user|all] [--json]\n"
  "       tessera-admin env unset NAME [--scope user|all] [--json]\n"
  "(`tessera-admin env --help` explains more)");

static const char usage[] = N_(
  "\n"
  "Show and change Tessera's architecture settings. The process\n"
  "environment overrides the current user's settings, which override the\n"
  "all-users settings, which override the defaults; `show` says for every\n"
  "value where it came from.\n"
  "\n"
  "  --scope user   the current user's settings\n"
  "  --scope all    the settings for all users (needs administrator\n"
  "                 rights); the default when run with them\n"
  "  --json         machine-readable output\n"
  "\n"
  "settings:\n");

typedef struct env_opts_t {
  int json;
  int scope_given;
  ts_scope_t scope;
  const char *const *args;   /* operands after the subcommand */
  int nargs;
} env_opts_t;

static const char *
full_usage(apr_pool_t *pool)
{
  const ts_setting_def_t *defs;
  int n;
  const char *lines = _(synopsis), *hint = strrchr(lines, '(');
  const char *text = hint ? apr_pstrndup(pool, lines, hint - lines) : lines;

  text = apr_pstrcat(pool, text, _(usage), NULL);
  defs = ts_settings_schema(&n);
  for (int i = 0; i < n; i++)
    text = apr_psprintf(pool, "%s  %-13s %s\n", text, defs[i].name,
                        _(defs[i].meaning));
  return text;
}

static ts_error_t *
parse(env_opts_t *o, admin_ctx_t *ctx, int *help)
{
  static const apr_getopt_option_t opts[] = {
    { "json", 'j', 0, "JSON output" },
    { "scope", 's', 1, "user or all" },
    { "help", 'h', 0, "this help" },
    { NULL, 0, 0, NULL }
  };
  apr_getopt_t *os;
  apr_status_t s;
  int ch;
  const char *arg;

  memset(o, 0, sizeof(*o));
  *help = 0;
  o->scope = tsp_is_privileged() ? TS_SCOPE_ALL : TS_SCOPE_USER;
  TS_ERR(admin_getopt_init(&os, ctx, ctx->argc, ctx->argv));
  while ((s = apr_getopt_long(os, opts, &ch, &arg)) == APR_SUCCESS) {
    if (ch == 'j')
      o->json = 1;
    else if (ch == 'h')
      *help = 1;
    else if (strcmp(arg, "user") == 0)
      o->scope = TS_SCOPE_USER, o->scope_given = 1;
    else if (strcmp(arg, "all") == 0)
      o->scope = TS_SCOPE_ALL, o->scope_given = 1;
    else
      return admin_usage_error(synopsis, "--scope takes 'user' "
                               "or 'all', not '%s'", arg);
  }
  if (s != APR_EOF)
    return admin_usage_error(synopsis, "unknown option or "
                             "missing value near '%s'",
                             os->argv[os->ind - 1]);
  /* apr_getopt permutes its own copy of argv, os->argv. */
  o->args = os->argv + os->ind;
  o->nargs = ctx->argc - os->ind;
  return NULL;
}

static json_t *
value_json(const ts_setting_value_t *v, int port, apr_pool_t *pool)
{
  const char *def = ts_settings_default(v->def, port, pool);

  return json_pack("{s:s, s:s?, s:s, s:s?, s:s?, s:s?, s:b, s:s?, s:s, s:s}",
                   "name", v->def->name,
                   "value", v->value,
                   "source", ts_source_name(v->source),
                   "location", v->location,
                   "default", def,
                   "problem", v->problem,
                   "restart_required", v->def->restart != NULL,
                   "restart", v->def->restart,
                   "meaning", v->def->meaning,
                   "format", v->def->format);
}


static ts_error_t *
env_show(admin_ctx_t *ctx, tsp_settings_t *store, const env_opts_t *o)
{
  ts_settings_t *settings;
  int port, problems = 0;

  TS_ERR(ts_settings_resolve(&settings, store, ctx->pool, ctx->pool));
  port = ts_settings_port(settings);
  if (o->json) {
    json_t *list = json_array();
    for (int i = 0; i < settings->values->nelts; i++) {
      const ts_setting_value_t *v = &APR_ARRAY_IDX(settings->values, i,
                                                   ts_setting_value_t);
      json_array_append_new(list, value_json(v, port, ctx->pool));
      problems += v->problem != NULL;
    }
    admin_print_json(json_pack("{s:o, s:{s:s, s:s}}", "settings", list,
      "scopes",
      "user", tsp_settings_location(store, TS_SCOPE_USER),
      "all", tsp_settings_location(store, TS_SCOPE_ALL)));
  }
  else {
    printf("%-13s %-32s %s\n", _("NAME"), _("VALUE"), _("SOURCE"));
    for (int i = 0; i < settings->values->nelts; i++) {
      const ts_setting_value_t *v = &APR_ARRAY_IDX(settings->values, i,
                                                   ts_setting_value_t);
      printf("%-13s %-32s %s%s%s%s\n", v->def->name,
             v->value ? v->value : _("(unset)"),
             admin_source_label(v->source), v->location ? " (" : "",
             v->location ? v->location : "", v->location ? ")" : "");
      if (v->problem) {
        printf(_("  ! invalid: %s\n"), v->problem_message);
        problems++;
      }
    }
  }
  if (problems) {
    fprintf(stderr, "%s: ", ctx->program);
    fprintf(stderr, ts_ntext("%d setting is invalid; fix with "
                             "`tessera-admin env set NAME VALUE`\n",
                             "%d settings are invalid; fix with "
                             "`tessera-admin env set NAME VALUE`\n",
                             (unsigned long)problems), problems);
    ctx->exit_status = TS_EX_CONFIG;
  }
  return NULL;
}

static ts_error_t *
env_get(admin_ctx_t *ctx, tsp_settings_t *store, const env_opts_t *o)
{
  ts_settings_t *settings;
  const ts_setting_value_t *v;

  if (o->nargs != 1)
    return admin_usage_error(synopsis, "env get takes one "
                             "NAME");
  if (!ts_settings_find(o->args[0]))
    return ts_error_createf(TS_EUSAGE, "'%s' is not a Tessera setting; "
                            "`tessera-admin env show` lists them",
                            o->args[0]);
  TS_ERR(ts_settings_resolve(&settings, store, ctx->pool, ctx->pool));
  v = ts_settings_get(settings, o->args[0]);
  if (o->json)
    admin_print_json(value_json(v, ts_settings_port(settings), ctx->pool));
  else if (v->value)
    printf("%s\n", v->value);
  if (v->problem) {
    fprintf(stderr, "%s: ", ctx->program);
    fprintf(stderr, _("invalid %s: %s\n"), v->def->name,
            v->problem_message);
    ctx->exit_status = TS_EX_CONFIG;
  }
  return NULL;
}

/* The command line for an example or hint, VALUE quoted for sh when it
 * needs it. */
static const char *
command_line(const char *verb, const char *name, const char *value,
             ts_scope_t scope, apr_pool_t *pool)
{
  const char *quoted = "";

  if (value) {
    quoted = value;
    for (const char *p = value; *p; p++)
      if (!apr_isalnum(*p) && !strchr("._-/:[]@+,", *p)) {
        quoted = apr_pstrcat(pool, "'", value, "'", NULL);
        break;
      }
  }
  return apr_psprintf(pool, "tessera-admin env %s %s%s%s --scope %s", verb,
                      name, value ? " " : "", quoted,
                      scope == TS_SCOPE_ALL ? "all" : "user");
}

/* Turn a refusal into a message that says how to do it right. */
static ts_error_t *
explain(ts_error_t *err, const char *verb, const char *name,
        const char *value, ts_scope_t scope, apr_pool_t *pool)
{
  const ts_setting_def_t *def = ts_settings_find(name);
  const char *text[2], *example, *command;

  if (ts_error_code(err) == TS_EPERM && scope == TS_SCOPE_ALL) {
    command = tsp_privileged_command(command_line(verb, name, value, scope,
                                                  pool), pool);
    for (int local = 0; local < 2; local++)
      text[local] = apr_psprintf(pool, ADMIN_TEXT(local,
        N_("  the all-users settings need administrator rights: run %s,\n"
           "  or keep the setting for yourself with --scope user")),
        command);
    return admin_error_texts(TS_EPERM, err, text[0], text[1]);
  }
  if (ts_error_code(err) == TS_ECONFIG)
    /* a malformed settings file: its fault, not the value's (the error
     * names the file and the line) */
    return ts_error_wrapf(err, strcmp(verb, "set") == 0
                          ? N_("cannot set %s: nothing was written; fix the "
                               "stored settings first")
                          : N_("cannot unset %s: nothing was written; fix "
                               "the stored settings first"), name);
  if (ts_error_code(err) != TS_EINVAL || !def)
    return err;
  example = def->example ? def->example : ts_settings_default(def, 0, pool);
  command = example ? command_line("set", name, example, scope, pool) : NULL;
  for (int local = 0; local < 2; local++) {
    /* the accepted form is the schema's text, in each language */
    const char *format = local ? _(def->format) : def->format;
    text[local] = command
      ? apr_psprintf(pool, ADMIN_TEXT(local, N_("  nothing was written.\n"
                                                "  format:  %s\n"
                                                "  example: %s")),
                     format, command)
      : apr_psprintf(pool, ADMIN_TEXT(local, N_("  nothing was written.\n"
                                                "  format:  %s")), format);
  }
  return admin_error_texts(TS_EINVAL, err, text[0], text[1]);
}

/* The host part of an INOHOST value, or NULL when it is invalid. */
static const char *
host_of(const char *value, apr_pool_t *pool)
{
  const char *host;
  int port;
  ts_error_t *err = value ? ts_inohost_parse(&host, &port, value, pool)
                          : NULL;

  if (!value || err) {
    ts_error_clear(err);
    return NULL;
  }
  return host;
}

/* The agent's port in the model servers' range is accepted (it is not
 * another component's port), and said. */
static void
warn_model_range(const ts_settings_t *settings, apr_pool_t *pool)
{
  const ts_setting_value_t *agent = ts_settings_get(settings,
                                                    "INOAGENTPORT");
  int p = ts_settings_port(settings), a;
  const char *warning;

  if (!p || !agent->value || agent->problem)
    return;
  a = atoi(agent->value);
  warning = ts_port_model_range_warning(apr_psprintf(pool, "INOAGENTPORT "
                                                     "%d (the agent's port)",
                                                     a), a, a, p, pool);
  if (warning)
    fprintf(stderr, _("warning: %s, or leave INOAGENTPORT unset (p+3 = "
                      "%d)\n"), warning, p + 3);
}

/* V, just written to SCOPE, is still another value here: say where from
 * and why. */
static void
note_precedence(const ts_setting_value_t *v, ts_scope_t scope,
                apr_pool_t *pool)
{
  const char *from = ts_doctor_from_source(v, 1, pool);

  if (!v->value)
    fprintf(stderr, scope == TS_SCOPE_ALL
            ? _("note: %s is still unset here, %s, which takes precedence "
                "over the all users settings\n")
            : _("note: %s is still unset here, %s, which takes precedence "
                "over the current user settings\n"), v->def->name, from);
  else
    fprintf(stderr, scope == TS_SCOPE_ALL
            ? _("note: %s is still %s here, %s, which takes precedence over "
                "the all users settings\n")
            : _("note: %s is still %s here, %s, which takes precedence over "
                "the current user settings\n"), v->def->name, v->value,
            from);
}

/* After a write: say what else the administrator should know. */
static void
report_effect(tsp_settings_t *store, const char *name, const char *written,
              const char *old_value, ts_scope_t scope, apr_pool_t *pool)
{
  ts_settings_t *settings;
  const ts_setting_value_t *v;
  ts_error_t *err = ts_settings_resolve(&settings, store, pool, pool);
  const char *old_host, *new_host;
  int changed = 0;

  if (err) {
    ts_error_clear(err);
    return;
  }
  v = ts_settings_get(settings, name);
  if (v->source != tsp_settings_source(scope) && written)
    note_precedence(v, scope, pool);
  if ((v->value == NULL) != (old_value == NULL)
      || (v->value && old_value && strcmp(v->value, old_value) != 0))
    changed = 1;
  if (v->def->restart && changed)
    fprintf(stderr, _("restart after this change: %s\n"),
            _(v->def->restart));
  old_host = host_of(old_value, pool);
  new_host = host_of(v->value, pool);
  if (changed && strcmp(name, "INOHOST") == 0 && old_host && new_host
      && strcmp(old_host, new_host) != 0)
    fprintf(stderr, _("note: the license server host changes from %s to "
                      "%s: a license bound to %s needs re-activation for "
                      "%s\n"), old_host, new_host, old_host, new_host);
  if (strcmp(name, "INOAGENTPORT") == 0 || strcmp(name, "INOHOST") == 0)
    warn_model_range(settings, pool);
}

static ts_error_t *
env_change(admin_ctx_t *ctx, tsp_settings_t *store, const env_opts_t *o,
           int set)
{
  const char *name, *value = NULL, *old_value = NULL;
  ts_settings_t *before;
  ts_error_t *err;
  int removed = 1;

  if (o->nargs != (set ? 2 : 1))
    return admin_usage_error(synopsis, set ? N_("env set takes NAME and "
                                                "VALUE")
                                           : N_("env unset takes one NAME"));
  name = o->args[0];
  if (set)
    value = o->args[1];
  err = ts_settings_resolve(&before, store, ctx->pool, ctx->pool);
  /* a value that was only the default is initial setup, not a change */
  if (!err && ts_settings_get(before, name)
      && ts_settings_get(before, name)->source != TSP_SRC_DEFAULT)
    old_value = ts_settings_get(before, name)->value;
  if (!err)
    err = set ? ts_settings_set(store, o->scope, name, value, ctx->pool)
              : ts_settings_unset(&removed, store, o->scope, name, ctx->pool);
  if (err)
    return explain(err, set ? "set" : "unset", name, value, o->scope,
                   ctx->pool);
  if (o->json)
    admin_print_json(json_pack("{s:s, s:s?, s:s, s:s, s:b}",
                               "name", name, "value", value,
                               "scope", o->scope == TS_SCOPE_ALL ? "all"
                                                                 : "user",
                               "location",
                               tsp_settings_location(store, o->scope),
                               "changed", removed));
  else if (set)
    printf(o->scope == TS_SCOPE_ALL ? _("%s = %s written to %s (all users)\n")
           : _("%s = %s written to %s (current user)\n"), name, value,
           tsp_settings_location(store, o->scope));
  else if (removed)
    printf(o->scope == TS_SCOPE_ALL ? _("%s removed from %s (all users)\n")
           : _("%s removed from %s (current user)\n"), name,
           tsp_settings_location(store, o->scope));
  else
    printf(o->scope == TS_SCOPE_ALL
           ? _("%s is not set in %s (all users); nothing changed\n")
           : _("%s is not set in %s (current user); nothing changed\n"),
           name, tsp_settings_location(store, o->scope));
  if (removed)
    report_effect(store, name, value, old_value, o->scope, ctx->pool);
  return NULL;
}

ts_error_t *
admin_cmd_env(admin_ctx_t *ctx)
{
  env_opts_t o;
  tsp_settings_t *store;
  const char *verb;
  int help;

  TS_ERR(parse(&o, ctx, &help));
  if (help || o.nargs == 0) {
    if (!help)
      return admin_usage_error(synopsis, "env needs a "
                               "subcommand: show, get, set or unset");
    fputs(full_usage(ctx->pool), stdout);
    return NULL;
  }
  verb = o.args[0];
  o.args++;
  o.nargs--;
  TS_ERR(admin_open_store(&store, ctx->pool));
  if (strcmp(verb, "show") == 0 && o.nargs == 0)
    return env_show(ctx, store, &o);
  if (strcmp(verb, "show") == 0)
    return admin_usage_error(synopsis, "env show takes no "
                             "arguments");
  if (strcmp(verb, "get") == 0)
    return env_get(ctx, store, &o);
  if (strcmp(verb, "set") == 0)
    return env_change(ctx, store, &o, 1);
  if (strcmp(verb, "unset") == 0)
    return env_change(ctx, store, &o, 0);
  return admin_usage_error(synopsis, "unknown env subcommand "
                           "'%s'", verb);
}
