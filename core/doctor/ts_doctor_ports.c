/* ts_doctor_ports.c: the doctor's port check: every port of the plan for
 * p (SPEC §1) free, or held by the Tessera server it belongs to; what
 * else holds one is named with its process. */
#include "ts_doctor_shared.h"

#include <stdlib.h>
#include <string.h>
#include <apr_network_io.h>
#include <apr_strings.h>

#include "ts_bus.h"
#include "ts_httpd.h"
#include "ts_ports.h"
#include "tsp.h"

/* Is PORT free to bind? */
static int
port_free(int port, apr_pool_t *pool)
{
  apr_sockaddr_t *sa;

  return apr_sockaddr_info_get(&sa, "0.0.0.0", APR_INET, (apr_port_t)port,
                               0, pool) == APR_SUCCESS
         && ts_doctor_can_bind(sa, pool);
}

/* The Tessera role answering /health on PORT, or NULL. */
static const char *
tessera_role_on(int port, apr_pool_t *pool)
{
  const char *body, *role;
  int status;
  ts_error_t *err = ts_http_get(&status, &body, "127.0.0.1", port, "/health",
                                apr_time_from_msec(500), pool);

  if (err) {
    ts_error_clear(err);
    return NULL;
  }
  role = status == 200 ? strstr(body, "\"role\":\"") : NULL;
  return role ? apr_pstrndup(pool, role + 8, strcspn(role + 8, "\"")) : NULL;
}

/* "bus" when PORT carries a Tessera license server's bus (its retained
 * state), or NULL. */
static const char *
bus_on(int port, apr_pool_t *pool)
{
  const char *state = NULL;
  ts_error_t *err = ts_bus_read_retained(&state, "127.0.0.1", port,
                                         "license/state",
                                         apr_time_from_msec(700), pool);

  ts_error_clear(err);
  return state ? "bus" : NULL;
}

/* The agent's port AGENT (INOAGENTPORT) in the model servers' range of
 * the plan for P: allowed, but a model server may take it first. */
static void
check_agent_port(ts_doctor_t *doc, const char *agent, int p)
{
  const char *warning = ts_port_model_range_warning(
    apr_psprintf(doc->pool, "INOAGENTPORT %s (the agent's port)", agent),
    atoi(agent), atoi(agent), p, doc->pool);

  if (warning) {
    ts_finding_t *f = ts_doctor_add(doc, TS_SEV_WARNING, "ports", agent,
                                    NULL, "%s", warning);
    ts_doctor_fix(doc, f, N_("tessera-admin env unset INOAGENTPORT (p+3 = "
                             "%d), or tessera-admin env set INOAGENTPORT "
                             "<port>"), p + 3);
  }
}

/* The model servers' range E, of which FREE_PORTS are free. */
static void
model_ports(ts_doctor_t *doc, const ts_port_entry_t *e, int free_ports)
{
  const char *range = apr_psprintf(doc->pool, "%d-%d", e->first, e->last);
  int n = e->last - e->first + 1;
  int time_wait = !tsp_services_refuse_remote_projects();   /* Linux */

  ts_doctor_add(doc, free_ports ? TS_SEV_INFO : TS_SEV_WARNING, "ports",
                range, free_ports ? NULL
                : N_("stop what holds them, or move p with `tessera-admin "
                     "env set INOHOST <host>.<port>`"),
                free_ports == 1
                ? (time_wait
                   ? N_("%d of the %d model-server ports %s is free; Linux "
                        "holds a closed port in TIME_WAIT for a while, so "
                        "leave spare ports if model servers restart often")
                   : N_("%d of the %d model-server ports %s is free"))
                : (time_wait
                   ? N_("%d of the %d model-server ports %s are free; Linux "
                        "holds a closed port in TIME_WAIT for a while, so "
                        "leave spare ports if model servers restart often")
                   : N_("%d of the %d model-server ports %s are free")),
                free_ports, n, e->offset);
}

/* The port of E, which is not free: held by the Tessera server ROLE (or
 * NULL: by another program). E's component is a label from the port plan
 * (core/config), shown translated to people. */
static void
port_held(ts_doctor_t *doc, const ts_port_entry_t *e, const char *role)
{
  const char *owner = tsp_port_owner(e->first, doc->pool), *text[2];
  const char *port = apr_itoa(doc->pool, e->first);

  for (int local = 0; local < 2; local++) {
    const char *component = local ? _(e->component) : e->component;
    if (role && owner)
      text[local] = apr_psprintf(doc->pool, TS_DOCTOR_TEXT(local,
        N_("port %d (%s, %s) is held by the Tessera %s server, %s")),
        e->first, e->offset, component, role, owner);
    else if (role)
      text[local] = apr_psprintf(doc->pool, TS_DOCTOR_TEXT(local,
        N_("port %d (%s, %s) is held by the Tessera %s server")),
        e->first, e->offset, component, role);
    else if (owner)
      text[local] = apr_psprintf(doc->pool, TS_DOCTOR_TEXT(local,
        N_("port %d (%s, the %s) is in use by %s, so the %s cannot start")),
        e->first, e->offset, component, owner, component);
    else
      text[local] = apr_psprintf(doc->pool, TS_DOCTOR_TEXT(local,
        N_("port %d (%s, the %s) is in use by another program, so the %s "
           "cannot start")), e->first, e->offset, component, component);
  }
  ts_doctor_add_texts(doc, role ? TS_SEV_INFO : TS_SEV_ERROR, "ports", port,
                      role ? NULL : N_("stop that program, or move p with "
                                       "`tessera-admin env set INOHOST "
                                       "<host>.<port>`"), text[0], text[1]);
}

void
ts_doctor_check_ports(ts_doctor_t *doc)
{
  int p = ts_settings_port(doc->settings), free_models = 0;
  const char *agent = ts_doctor_value(doc, "INOAGENTPORT");
  apr_array_header_t *plan;
  ts_error_t *err;

  if (!p)
    return;   /* reported by the settings check */
  if (agent)
    check_agent_port(doc, agent, p);
  err = ts_port_plan(&plan, p, agent ? atoi(agent) : p + 3,
                     TS_PLAN_DEFAULT_MODELS, doc->pool);
  if (err) {
    ts_doctor_add_error(doc, TS_SEV_ERROR, "ports", apr_itoa(doc->pool, p),
                        NULL, err);
    ts_error_clear(err);
    return;
  }
  for (int i = 0; i < plan->nelts; i++) {
    const ts_port_entry_t *e = &APR_ARRAY_IDX(plan, i, ts_port_entry_t);
    if (e->first != e->last) {
      for (int port = e->first; port <= e->last; port++)
        free_models += port_free(port, doc->pool);
      model_ports(doc, e, free_models);
      continue;
    }
    if (port_free(e->first, doc->pool))
      continue;
    port_held(doc, e, e->first == p + 1 ? bus_on(e->first, doc->pool)
                                        : tessera_role_on(e->first,
                                                          doc->pool));
  }
}
