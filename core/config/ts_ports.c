/* ts_ports.c: the derived port plan (SPEC §1). */
#include "ts_ports.h"

#include <apr_strings.h>

#include "ts_i18n.h"
#include "ts_settings.h"

static void
add(apr_array_header_t *plan, int first, int last, const char *component,
    const char *offset, const char *runs)
{
  ts_port_entry_t *e = apr_array_push(plan);

  e->first = first;
  e->last = last;
  e->component = component;
  e->offset = offset;
  e->runs = runs;
}

const char *
ts_port_model_range_warning(const char *what, int first, int last, int p,
                            apr_pool_t *pool)
{
  int low = p + 6, high = p + 5 + TS_PLAN_DEFAULT_MODELS;

  if (last < low || first > high)
    return NULL;
  /* only tessera-admin asks, which speaks to people: the sentence is in
   * their language, WHAT given in it (recipe 5 of the i18n notes) */
  return apr_psprintf(pool, _("%s lies in the model-server range %d..%d "
                      "(p+6..p+%d with p = %d: room for %d model servers, "
                      "as `tessera-admin ports` plans it); model servers "
                      "bind the next free port from p+6 and may take it "
                      "first; choose ports outside %d..%d"), what, low,
                      high, 5 + TS_PLAN_DEFAULT_MODELS, p,
                      TS_PLAN_DEFAULT_MODELS, p, high);
}

ts_error_t *
ts_port_plan(apr_array_header_t **entries, int p, int agent_port, int models,
             apr_pool_t *pool)
{
  apr_array_header_t *plan = apr_array_make(pool, 8, sizeof(ts_port_entry_t));

  if (p < TS_PORT_MIN || p > TS_PORT_MAX)
    return ts_error_createf(TS_EINVAL, "the license server port %d must lie "
                            "in %d..%d", p, TS_PORT_MIN, TS_PORT_MAX);
  if (models < 1 || models > TS_PLAN_MAX_MODELS)
    return ts_error_createf(TS_EINVAL, "room for %d model servers: choose "
                            "1..%d", models, TS_PLAN_MAX_MODELS);
  /* component and what runs there: for people, shown through _() */
  add(plan, p, p, N_("license server"), "p",
      N_("tesserad license: service/daemon"));
  add(plan, p + 1, p + 1, N_("bus"), "p+1",
      N_("mosquitto, started by the license server or its own service"));
  add(plan, p + 2, p + 2, N_("hub"), "p+2", N_("inside the license server"));
  add(plan, agent_port, agent_port, N_("agent"),
      agent_port == p + 3 ? "p+3" : "INOAGENTPORT",
      N_("tesserad agent: one per model-server machine"));
  add(plan, p + 4, p + 4, N_("notification service"), "p+4",
      "tesserad notify");
  add(plan, p + 5, p + 5, N_("proxy"), "p+5",
      N_("tesserad proxy: one per machine"));
  add(plan, p + 6, p + 5 + models, N_("model servers"),
      apr_psprintf(pool, "p+6..p+%d", 5 + models),
      N_("tesserad model: each binds the next free port"));
  /* Keep the list in port order when the agent port was moved. */
  for (int i = 1; i < plan->nelts; i++)
    for (int j = i; j > 0; j--) {
      ts_port_entry_t *a = &APR_ARRAY_IDX(plan, j - 1, ts_port_entry_t);
      ts_port_entry_t *b = &APR_ARRAY_IDX(plan, j, ts_port_entry_t);
      ts_port_entry_t t;
      if (a->first <= b->first)
        break;
      t = *a; *a = *b; *b = t;
    }
  *entries = plan;
  return NULL;
}
