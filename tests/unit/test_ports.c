/* test_ports.c: the port plan derived from INOHOST (SPEC §1). */
#include <string.h>
#include <criterion/criterion.h>
#include <apr_general.h>

#include "ts_ports.h"

static apr_pool_t *pool;

static void setup(void) { apr_initialize(); apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); apr_terminate(); }

TestSuite(ports, .init = setup, .fini = teardown);

static const ts_port_entry_t *
entry(apr_array_header_t *plan, const char *component)
{
  for (int i = 0; i < plan->nelts; i++) {
    const ts_port_entry_t *e = &APR_ARRAY_IDX(plan, i, ts_port_entry_t);
    if (strcmp(e->component, component) == 0)
      return e;
  }
  cr_assert_fail("no %s in the plan", component);
  return NULL;
}

Test(ports, plan_is_p_to_p_plus_5_then_models)
{
  apr_array_header_t *plan;

  cr_assert_null(ts_port_plan(&plan, 17000, 17003, 20, pool));
  cr_assert_eq(plan->nelts, 7);
  cr_assert_eq(entry(plan, "license server")->first, 17000);
  cr_assert_eq(entry(plan, "bus")->first, 17001);
  cr_assert_eq(entry(plan, "hub")->first, 17002);
  cr_assert_eq(entry(plan, "agent")->first, 17003);
  cr_assert_str_eq(entry(plan, "agent")->offset, "p+3");
  cr_assert_eq(entry(plan, "notification service")->first, 17004);
  cr_assert_eq(entry(plan, "proxy")->first, 17005);
  cr_assert_eq(entry(plan, "model servers")->first, 17006);
  cr_assert_eq(entry(plan, "model servers")->last, 17025);
}

Test(ports, moved_agent_port_keeps_port_order)
{
  apr_array_header_t *plan;

  cr_assert_null(ts_port_plan(&plan, 17000, 16000, 5, pool));
  cr_assert_str_eq(APR_ARRAY_IDX(plan, 0, ts_port_entry_t).component,
                   "agent");
  cr_assert_str_eq(APR_ARRAY_IDX(plan, 0, ts_port_entry_t).offset,
                   "INOAGENTPORT");
  for (int i = 1; i < plan->nelts; i++)
    cr_assert_lt(APR_ARRAY_IDX(plan, i - 1, ts_port_entry_t).first,
                 APR_ARRAY_IDX(plan, i, ts_port_entry_t).first);
}

Test(ports, refuses_what_leaves_the_range)
{
  apr_array_header_t *plan;
  ts_error_t *err;

  err = ts_port_plan(&plan, 64001, 64004, 20, pool);
  cr_assert_not_null(err);
  ts_error_clear(err);
  err = ts_port_plan(&plan, 17000, 17003, 0, pool);
  cr_assert_not_null(err);
  ts_error_clear(err);
  /* the highest allowed p with the most model servers still fits */
  cr_assert_null(ts_port_plan(&plan, 64000, 64003, TS_PLAN_MAX_MODELS, pool));
  cr_assert_lt(entry(plan, "model servers")->last, 65536);
}

/* The model servers' range is p+6..p+25 as planned by default: a port
 * (or a project server's three) touching it is warned about, with the
 * range; ports beside it are not. */
Test(ports, ports_in_the_model_server_range_are_named)
{
  const char *w = ts_port_model_range_warning("INOAGENTPORT 17006", 17006,
                                              17006, 17000, pool);

  cr_assert_not_null(w);
  cr_assert(strstr(w, "INOAGENTPORT 17006 lies in the model-server range "
                   "17006..17025"), "%s", w);
  cr_assert_not_null(ts_port_model_range_warning("p'", 17025, 17027, 17000,
                                                 pool));
  cr_assert_not_null(ts_port_model_range_warning("p'", 17004, 17006, 17000,
                                                 pool));
  cr_assert_null(ts_port_model_range_warning("a", 17003, 17003, 17000,
                                             pool));
  cr_assert_null(ts_port_model_range_warning("p'", 17026, 17028, 17000,
                                             pool));
}
