/* cmd_ports.c: `tessera-admin ports`, the port plan (SPEC §1). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_env.h>
#include <apr_strings.h>

#include "admin.h"
#include "ts_doctor.h"
#include "ts_ports.h"
#include "ts_settings.h"

static const char usage[] = N_(
  "usage: tessera-admin ports [--models N] [--json]\n"
  "       tessera-admin ports --firewall nftables|firewalld|ufw|netsh\n"
  "                           [--models N]\n"
  "\n"
  "Show the ports Tessera uses, derived from the license server's port p\n"
  "in INOHOST: p license server, p+1 bus, p+2 hub, p+3 agent (or\n"
  "INOAGENTPORT), p+4 notification service, p+5 proxy, then one port per\n"
  "model server. Firewalls must pass all of them.\n"
  "\n"
  "  --models N   room for N model servers (default 20, at most 1000)\n"
  "  --firewall KIND  print the rules that open the plan's ports\n"
  "  --json       machine-readable output\n");

/* A line of a firewall's configuration: for the firewall, never
 * translated (the comments around it are for people). */
static void rule(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
rule(const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
}

/* The rules that let clients reach p..p+5+MODELS (and a moved agent
 * port), for the firewall KIND. */
static ts_error_t *
print_firewall(const char *kind, const char *inohost, int p, int agent,
               int models, apr_pool_t *pool)
{
  int last = p + 5 + models, extra = agent < p || agent > last;
  const char *agent_nft = extra ? apr_psprintf(pool, ", %d", agent) : "";

  if (extra)
    printf(ts_ntext("# Tessera: INOHOST %s, p = %d: ports p..p+5 and %d "
                    "model server, and the agent's port\n",
                    "# Tessera: INOHOST %s, p = %d: ports p..p+5 and %d "
                    "model servers, and the agent's port\n",
                    (unsigned long)models), inohost, p, models);
  else
    printf(ts_ntext("# Tessera: INOHOST %s, p = %d: ports p..p+5 and %d "
                    "model server\n",
                    "# Tessera: INOHOST %s, p = %d: ports p..p+5 and %d "
                    "model servers\n", (unsigned long)models),
           inohost, p, models);
  if (strcmp(kind, "nftables") == 0) {
    fputs(_("# Load with `nft -f FILE`. The rule goes into the input chain "
            "of the table\n"
            "# inet filter; the two lines before it create the table and "
            "the chain where\n"
            "# they are missing and leave existing ones as they are. An "
            "existing input\n"
            "# chain of another priority makes nft refuse the `add chain` "
            "line: remove it\n"
            "# then. Where another table drops these ports on the input "
            "hook, put the rule\n"
            "# there: an accept in one table does not overrule a drop in "
            "another.\n"), stdout);
    rule("add table inet filter\n");
    rule("add chain inet filter input { type filter hook input priority "
         "0; }\n");
    rule("add rule inet filter input tcp dport { %d-%d%s } accept "
         "comment \"Tessera\"\n", p, last, agent_nft);
  }
  else if (strcmp(kind, "firewalld") == 0) {
    rule("firewall-cmd --permanent --add-port=%d-%d/tcp\n", p, last);
    if (extra)
      rule("firewall-cmd --permanent --add-port=%d/tcp\n", agent);
    rule("firewall-cmd --reload\n");
  }
  else if (strcmp(kind, "ufw") == 0) {
    rule("ufw allow %d:%d/tcp comment 'Tessera'\n", p, last);
    if (extra)
      rule("ufw allow %d/tcp comment 'Tessera agent'\n", agent);
  }
  else {
    rule("netsh advfirewall firewall add rule name=\"Tessera\" dir=in "
         "action=allow protocol=TCP localport=%d-%d%s\n", p, last,
         extra ? apr_psprintf(pool, ",%d", agent) : "");
  }
  return NULL;
}

/* The INOHOST value HOST is invalid: the error, saying where it came
 * from in each language. */
static ts_error_t *
invalid_host(const ts_setting_value_t *host, apr_pool_t *pool)
{
  const char *text[2];

  for (int local = 0; local < 2; local++)
    text[local] = apr_psprintf(pool, ADMIN_TEXT(local,
      N_("INOHOST '%s' %s is invalid: %s; fix it with `tessera-admin env "
         "set INOHOST <host>.<port>`")), host->value,
      ts_doctor_from_source(host, local, pool), host->problem);
  return admin_error_texts(TS_ECONFIG, NULL, text[0], text[1]);
}

/* The PLAN for P (from HOST, with the AGENT's port and room for MODELS
 * model servers) for people. */
static void
print_plan(const apr_array_header_t *plan, const ts_setting_value_t *host,
           int p, int agent, int models, apr_pool_t *pool)
{
  printf(_("Port plan for INOHOST %s (p = %d, %s)\n\n"), host->value, p,
         ts_doctor_from_source(host, 1, pool));
  printf("%-13s %-14s %-24s %s\n", _("PORT"), _("OFFSET"), _("COMPONENT"),
         _("RUNS AS"));
  for (int i = 0; i < plan->nelts; i++) {
    const ts_port_entry_t *e = &APR_ARRAY_IDX(plan, i, ts_port_entry_t);
    const char *ports = e->first == e->last
      ? apr_itoa(pool, e->first)
      : apr_psprintf(pool, "%d-%d", e->first, e->last);
    /* the plan's labels (core/config), for people */
    printf("%-13s %-14s %-24s %s\n", ports, e->offset, _(e->component),
           _(e->runs));
  }
  if (agent > p + 5 + models || agent < p)
    printf(ts_ntext("\nFirewall: pass TCP %d-%d (p..p+5 and %d model "
                    "server) and TCP %d (agent).\n",
                    "\nFirewall: pass TCP %d-%d (p..p+5 and %d model "
                    "servers) and TCP %d (agent).\n", (unsigned long)models),
           p, p + 5 + models, models, agent);
  else
    printf(ts_ntext("\nFirewall: pass TCP %d-%d (p..p+5 and %d model "
                    "server).\n",
                    "\nFirewall: pass TCP %d-%d (p..p+5 and %d model "
                    "servers).\n", (unsigned long)models),
           p, p + 5 + models, models);
  fputs(_("Linux holds a closed port in TIME_WAIT for a while: if model "
          "servers restart often,\nleave spare ports with --models.\n"),
        stdout);
}

ts_error_t *
admin_cmd_ports(admin_ctx_t *ctx)
{
  static const apr_getopt_option_t opts[] = {
    { "models", 'm', 1, "model servers" },
    { "firewall", 'f', 1, "firewall kind" },
    { "json", 'j', 0, "JSON output" },
    { "help", 'h', 0, "this help" },
    { NULL, 0, 0, NULL }
  };
  apr_getopt_t *os;
  apr_status_t s;
  int ch, json = 0, models = TS_PLAN_DEFAULT_MODELS, p, agent;
  const char *arg, *firewall = NULL;
  tsp_settings_t *store;
  ts_settings_t *settings;
  const ts_setting_value_t *host, *agent_v;
  apr_array_header_t *plan;
  char *end;

  TS_ERR(admin_getopt_init(&os, ctx, ctx->argc, ctx->argv));
  while ((s = apr_getopt_long(os, opts, &ch, &arg)) == APR_SUCCESS) {
    if (ch == 'h') {
      fputs(_(usage), stdout);
      return NULL;
    }
    if (ch == 'j')
      json = 1;
    else if (ch == 'f') {
      if (strcmp(arg, "nftables") && strcmp(arg, "firewalld")
          && strcmp(arg, "ufw") && strcmp(arg, "netsh"))
        return admin_usage_error(usage, "--firewall takes nftables, "
                                 "firewalld, ufw or netsh, not '%s'", arg);
      firewall = arg;
    }
    else {
      models = (int)strtol(arg, &end, 10);
      if (*end || !*arg || models < 1 || models > TS_PLAN_MAX_MODELS)
        return admin_usage_error(usage, "--models takes a number in 1..%d, "
                                 "not '%s'", TS_PLAN_MAX_MODELS, arg);
    }
  }
  if (s != APR_EOF || os->ind != ctx->argc)
    return admin_usage_error(usage, "unexpected argument '%s'",
                             os->argv[os->ind < ctx->argc ? os->ind
                                                          : os->ind - 1]);

  TS_ERR(admin_open_store(&store, ctx->pool));
  TS_ERR(ts_settings_resolve(&settings, store, ctx->pool, ctx->pool));
  host = ts_settings_get(settings, "INOHOST");
  agent_v = ts_settings_get(settings, "INOAGENTPORT");
  if (host->problem)
    return invalid_host(host, ctx->pool);
  if (agent_v->problem)
    return ts_setting_invalid(settings, agent_v, ctx->pool);
  p = ts_settings_port(settings);
  agent = atoi(agent_v->value);
  TS_ERR(ts_port_plan(&plan, p, agent, models, ctx->pool));

  if (firewall)
    return print_firewall(firewall, host->value, p, agent, models,
                          ctx->pool);
  if (json) {
    json_t *list = json_array();
    for (int i = 0; i < plan->nelts; i++) {
      const ts_port_entry_t *e = &APR_ARRAY_IDX(plan, i, ts_port_entry_t);
      json_array_append_new(list, json_pack("{s:i, s:i, s:s, s:s, s:s}",
        "first", e->first, "last", e->last, "component", e->component,
        "offset", e->offset, "runs", e->runs));
    }
    admin_print_json(json_pack("{s:s, s:s, s:i, s:i, s:o, s:[i,i]}",
      "inohost", host->value, "source", ts_source_name(host->source),
      "p", p, "models", models, "ports", list,
      "firewall", p, p + 5 + models));
    return NULL;
  }
  print_plan(plan, host, p, agent, models, ctx->pool);
  return NULL;
}
