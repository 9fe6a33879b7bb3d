/* test_prom.c: the Prometheus text writer: families announced once,
 * labels escaped as the exposition format asks, values as it spells them. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_general.h>

#include "ts_prom.h"

static apr_pool_t *pool;

static void setup(void) { apr_initialize(); apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); apr_terminate(); }

TestSuite(prom, .init = setup, .fini = teardown);

Test(prom, family_is_announced_once)
{
  ts_prom_t *prom = ts_prom_create(pool);

  ts_prom_family(prom, "t_seats", "gauge", "Seats.");
  ts_prom_int(prom, "t_seats", (const char *const[]){ "product", "a", NULL },
              3);
  ts_prom_family(prom, "t_seats", "gauge", "Seats.");
  ts_prom_int(prom, "t_seats", (const char *const[]){ "product", "b", NULL },
              4);
  ts_prom_int(prom, "t_total", NULL, 7);
  cr_assert_str_eq(ts_prom_text(prom),
                   "# HELP t_seats Seats.\n"
                   "# TYPE t_seats gauge\n"
                   "t_seats{product=\"a\"} 3\n"
                   "t_seats{product=\"b\"} 4\n"
                   "t_total 7\n");
}

Test(prom, label_values_and_help_are_escaped)
{
  ts_prom_t *prom = ts_prom_create(pool);

  ts_prom_family(prom, "t_x", "counter", "a \\ back\nslash \"kept\"");
  ts_prom_int(prom, "t_x", (const char *const[]){ "route", "/a\"b\\c\nd",
              "code", "200", NULL }, 1);
  cr_assert_str_eq(ts_prom_text(prom),
                   "# HELP t_x a \\\\ back\\nslash \"kept\"\n"
                   "# TYPE t_x counter\n"
                   "t_x{route=\"/a\\\"b\\\\c\\nd\",code=\"200\"} 1\n");
}

Test(prom, reals_and_the_values_that_are_not_numbers)
{
  ts_prom_t *prom = ts_prom_create(pool);

  ts_prom_real(prom, "t_sum", NULL, 0.25);
  ts_prom_real(prom, "t_nan", NULL, NAN);
  ts_prom_real(prom, "t_inf", NULL, -INFINITY);
  cr_assert_str_eq(ts_prom_text(prom), "t_sum 0.250000\nt_nan NaN\n"
                   "t_inf -Inf\n");
}

Test(prom, text_grows_past_its_first_buffer)
{
  ts_prom_t *prom = ts_prom_create(pool);
  char label[16];

  ts_prom_family(prom, "t_many", "gauge", "Many.");
  for (int i = 0; i < 2000; i++) {
    snprintf(label, sizeof(label), "p%d", i);
    ts_prom_int(prom, "t_many", (const char *const[]){ "product", label,
                NULL }, i);
  }
  cr_assert(strstr(ts_prom_text(prom), "t_many{product=\"p0\"} 0\n"));
  cr_assert(strstr(ts_prom_text(prom), "t_many{product=\"p1999\"} 1999\n"));
}
