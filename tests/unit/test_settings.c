/* test_settings.c: the schema's validation of each setting, as an
 * administrator meets it through `tessera-admin env set`. */
#include <string.h>
#include <criterion/criterion.h>
#include <apr_general.h>

#include "ts_settings.h"

static apr_pool_t *pool;

static void setup(void) { apr_initialize(); apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); apr_terminate(); }

TestSuite(inohost, .init = setup, .fini = teardown);
TestSuite(settings, .init = setup, .fini = teardown);

static void
expect_accepted(const char *value, const char *want_host, int want_port)
{
  const char *host = NULL;
  int port = 0;
  ts_error_t *err = ts_inohost_parse(&host, &port, value, pool);

  cr_assert_null(err, "INOHOST '%s' refused: %s", value,
                 err ? ts_error_text(err, pool) : "");
  cr_assert_str_eq(host, want_host, "host of '%s'", value);
  cr_assert_eq(port, want_port, "port of '%s'", value);
}

/* Refused, and the message contains WHY. */
static void
expect_refused(const char *value, const char *why)
{
  const char *host;
  int port;
  ts_error_t *err = ts_inohost_parse(&host, &port, value, pool);
  const char *text;

  cr_assert_not_null(err, "INOHOST '%s' accepted", value);
  text = ts_error_text(err, pool);
  cr_assert(strstr(text, why), "INOHOST '%s': message '%s' lacks '%s'",
            value, text, why);
  cr_assert_eq(ts_error_exit_status(err), TS_EX_DATAERR);
  ts_error_clear(err);
}

Test(inohost, accepts_the_documented_forms)
{
  expect_accepted("lic1.17000", "lic1", 17000);
  expect_accepted("lic1.example.com.17000", "lic1.example.com", 17000);
  expect_accepted("192.0.2.10.17000", "192.0.2.10", 17000);
  expect_accepted("[2001:db8::1].17000", "2001:db8::1", 17000);
  expect_accepted("[::1].17000", "::1", 17000);
  expect_accepted("[::ffff:192.0.2.1].17000", "::ffff:192.0.2.1", 17000);
  expect_accepted("LIC-1.Example.COM.2000", "LIC-1.Example.COM", 2000);
}

Test(inohost, port_range_is_1024_to_64000)
{
  expect_accepted("lic1.1024", "lic1", 1024);
  expect_accepted("lic1.64000", "lic1", 64000);
  expect_refused("lic1.1023", "must lie in 1024..64000");
  expect_refused("lic1.64001", "must lie in 1024..64000");
  expect_refused("lic1.80", "the port 80 must lie in 1024..64000");
  expect_refused("lic1.99999999999", "must lie in 1024..64000");
}

Test(inohost, refuses_with_the_reason)
{
  expect_refused(".17000", "the host before the port is empty");
  expect_refused("lic1", "there is no port");
  expect_refused("lic1.", "the port is empty");
  expect_refused("lic1.example.com", "'com' after the last dot is not a port");
  expect_refused("lic1.17x00", "not a port number");
  expect_refused("lic1.017000", "leading zeros");
  expect_refused("-lic1.17000", "starts or ends with '-'");
  expect_refused("lic_1.17000", "the label 'lic_1' contains '_'");
  expect_refused("a..b.17000", "empty label");
  expect_refused("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
          ".17000", "labels have at most 63");
  expect_refused("256.0.2.10.17000", "not a valid IPv4 address");
  expect_refused("2001:db8::1.17000", "put it in brackets");
  expect_refused("[2001:db8:::1].17000", "not a valid IPv6 address");
  expect_refused("[2001:db8::1.17000", "lacks its closing ']'");
  expect_refused("[2001:db8::1.17000]", "there is no port");
}

static const char *
problem(const char *name, const char *value)
{
  ts_error_t *err = ts_setting_validate(ts_settings_find(name), value, pool);
  const char *text = err ? ts_error_text(err, pool) : NULL;

  ts_error_clear(err);
  return text;
}

Test(settings, schema_is_complete)
{
  int n;
  const ts_setting_def_t *defs = ts_settings_schema(&n);
  static const char *const names[] = { "INOHOST", "INOLIC", "INODIR",
    "INOPRJ", "INOLANG", "INONOTIFY", "INOAGENTPORT" };

  cr_assert_eq(n, 7);
  for (int i = 0; i < n; i++) {
    cr_assert_str_eq(defs[i].name, names[i]);
    cr_assert_not_null(defs[i].meaning);
    cr_assert_not_null(defs[i].format);
  }
  cr_assert_null(ts_settings_find("PATH"));
}

/* Absolute paths in the platform's own syntax. */
#ifdef _WIN32
#define ABS_DIR "C:\\Tessera\\projects"
#define ABS_DIR_SPACE "D:\\my licenses"
#else
#define ABS_DIR "/srv/tessera/projects"
#define ABS_DIR_SPACE "/srv/my licenses"
#endif

Test(settings, directories_must_be_absolute)
{
  cr_assert_null(problem("INOPRJ", ABS_DIR));
  cr_assert_null(problem("INOLIC", ABS_DIR_SPACE));
  cr_assert(strstr(problem("INOPRJ", "projects"), "not an absolute path"));
  cr_assert(strstr(problem("INODIR", "./params"), "not an absolute path"));
  cr_assert(strstr(problem("INODIR", ""), "empty"));
  cr_assert(strstr(problem("INOPRJ", "/srv/a\nb"), "control character"));
}

Test(settings, language_from_the_known_list)
{
  cr_assert_null(problem("INOLANG", "en"));
  cr_assert_null(problem("INOLANG", "de"));
  cr_assert(strstr(problem("INOLANG", "klingon"), "not a known language"));
}

Test(settings, agent_port)
{
  cr_assert_null(problem("INOAGENTPORT", "17003"));
  cr_assert(strstr(problem("INOAGENTPORT", "80"), "1024..64000"));
  cr_assert(strstr(problem("INOAGENTPORT", "x"), "not a number"));
}

Test(settings, message_names_the_setting_and_value)
{
  cr_assert(strstr(problem("INOHOST", "lic1.80"), "invalid INOHOST 'lic1.80'"));
}

Test(settings, defaults)
{
  const ts_setting_def_t *agent = ts_settings_find("INOAGENTPORT");

  cr_assert_str_eq(ts_settings_default(ts_settings_find("INOHOST"), 0, pool),
                   "localhost.17000");
  cr_assert_str_eq(ts_settings_default(agent, 20000, pool), "20003");
  cr_assert_null(ts_settings_default(ts_settings_find("INONOTIFY"), 0, pool));
}
