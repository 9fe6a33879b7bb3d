/* cmd_ports.c: `tessera-admin ports`, the port plan (SPEC §1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_env.h>
#include <apr_strings.h>

#include "admin.h"
#include "ts_ports.h"
#include "ts_settings.h"

static const char usage[] =
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
  "  --json       machine-readable output\n";

/* The rules that let clients reach p..p+5+MODELS (and a moved agent
 * port), for the firewall KIND. */
static ts_error_t *
print_firewall(const char *kind, const char *inohost, int p, int agent,
               int models, apr_pool_t *pool)
{
  int last = p + 5 + models, extra = agent < p || agent > last;
  const char *agent_nft = extra ? apr_psprintf(pool, ", %d", agent) : "";

  printf("# Tessera: INOHOST %s, p = %d: ports p..p+5 and %d model "
         "server%s%s\n", inohost, p, models, models == 1 ? "" : "s",
         extra ? ", and the agent's port" : "");
  if (strcmp(kind, "nftables") == 0) {
    printf("# Load with `nft -f FILE`. The rule goes into the input chain "
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
           "another.\n");
    printf("add table inet filter\n");
    printf("add chain inet filter input { type filter hook input priority "
           "0; }\n");
    printf("add rule inet filter input tcp dport { %d-%d%s } accept "
           "comment \"Tessera\"\n", p, last, agent_nft);
  }
  else if (strcmp(kind, "firewalld") == 0) {
    printf("firewall-cmd --permanent --add-port=%d-%d/tcp\n", p, last);
    if (extra)
      printf("firewall-cmd --permanent --add-port=%d/tcp\n", agent);
    printf("firewall-cmd --reload\n");
  }
  else if (strcmp(kind, "ufw") == 0) {
    printf("ufw allow %d:%d/tcp comment 'Tessera'\n", p, last);
    if (extra)
      printf("ufw allow %d/tcp comment 'Tessera agent'\n", agent);
  }
  else {
    printf("netsh advfirewall firewall add rule name=\"Tessera\" dir=in "
           "action=allow protocol=TCP localport=%d-%d%s\n", p, last,
           extra ? apr_psprintf(pool, ",%d", agent) : "");
  }
  return NULL;
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
      fputs(usage, stdout);
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
    return ts_error_createf(TS_ECONFIG, "INOHOST '%s' from the %s is "
                            "invalid: %s; fix it with `tessera-admin env "
                            "set INOHOST <host>.<port>`", host->value,
                            ts_source_name(host->source), host->problem);
  if (agent_v->problem)
    return ts_error_createf(TS_ECONFIG, "%s", agent_v->problem);
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
  printf("Port plan for INOHOST %s (p = %d, from the %s)\n\n", host->value,
         p, ts_source_name(host->source));
  printf("%-13s %-14s %-21s %s\n", "PORT", "OFFSET", "COMPONENT", "RUNS AS");
  for (int i = 0; i < plan->nelts; i++) {
    const ts_port_entry_t *e = &APR_ARRAY_IDX(plan, i, ts_port_entry_t);
    const char *ports = e->first == e->last
      ? apr_itoa(ctx->pool, e->first)
      : apr_psprintf(ctx->pool, "%d-%d", e->first, e->last);
    printf("%-13s %-14s %-21s %s\n", ports, e->offset, e->component,
           e->runs);
  }
  printf("\nFirewall: pass TCP %d-%d (p..p+5 and %d model server%s)%s.\n",
         p, p + 5 + models, models, models == 1 ? "" : "s",
         agent > p + 5 + models || agent < p
           ? apr_psprintf(ctx->pool, " and TCP %d (agent)", agent) : "");
  printf("Linux holds a closed port in TIME_WAIT for a while: if model "
         "servers restart often,\nleave spare ports with --models.\n");
  return NULL;
}
