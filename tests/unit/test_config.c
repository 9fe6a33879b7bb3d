/* test_config.c: tessera.xml as the servers and the doctor read it
 * (ts_config_parse/ts_config_load): what the schema refuses is refused
 * with the file, line and element; what it accepts reaches the
 * configuration. Inputs found by the fuzzer (tests/fuzz, harness
 * "config") stay here as regression tests. */
#include <string.h>
#include <criterion/criterion.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "ts_config.h"

#define PATH "/var/lib/tessera/license/tessera.xml"

static apr_pool_t *pool;

static void setup(void) { apr_initialize(); apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); apr_terminate(); }

TestSuite(config, .init = setup, .fini = teardown);

static ts_config_t *
parse(const char *xml)
{
  ts_config_t *c = NULL;
  ts_error_t *err = ts_config_parse(&c, PATH, xml, strlen(xml), pool);

  cr_assert_null(err, "refused: %s", err ? ts_error_text(err, pool) : "");
  return c;
}

static const char *
refusal(const char *xml)
{
  ts_config_t *c;
  ts_error_t *err = ts_config_parse(&c, PATH, xml, strlen(xml), pool);
  const char *text;

  cr_assert_not_null(err, "accepted:\n%s", xml);
  text = ts_error_text(err, pool);
  cr_assert_eq(ts_error_code(err), TS_ECONFIG, "%s", text);
  cr_assert_eq(ts_error_exit_status(err), 78, "EX_CONFIG: %s", text);
  ts_error_clear(err);
  return text;
}

Test(config, projects_reach_the_configuration)
{
  ts_config_t *c = parse("<tessera xmlns=\"urn:tessera:config:1\">\n"
                         "<license-server>\n"
                         "<project version=\"26.1\" port=\"17010\"/>\n"
                         "<project version=\"26.2\" port=\"17013\"/>\n"
                         "</license-server></tessera>\n");

  cr_assert_eq(c->projects->nelts, 2);
  cr_assert_eq(ts_config_project(c, "26.2")->port, 17013);
  cr_assert_null(ts_config_project(c, "26.3"));
  cr_assert_null(ts_config_check(c, 17000, pool));
}

/* Found by fuzzing: the schema's one-server-per-version constraint named
 * <project> without the configuration's namespace, so it matched nothing
 * and two project license servers for one version were accepted (the
 * second one never ran: ts_config_project finds the first). */
Test(config, one_project_server_per_version)
{
  const char *text = refusal(
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<tessera xmlns=\"urn:tessera:config:1\">\n"
    "  <license-server>\n"
    "    <project version=\"26.1\" port=\"17011\"/>\n"
    "    <project version=\"26.1\" port=\"17020\"/>\n"
    "  </license-server>\n"
    "</tessera>\n");

  cr_assert(strstr(text, PATH " line 5, element project"), "%s", text);
  cr_assert(strstr(text, "one-server-per-version"), "%s", text);
}

/* What the servers need beyond the schema is the administrator's to fix
 * too (exit 78, EX_CONFIG), not bad input of a command (65). */
Test(config, a_project_port_overlapping_p_is_a_configuration_error)
{
  ts_config_t *c = parse("<tessera xmlns=\"urn:tessera:config:1\">\n"
                         "<license-server>\n"
                         "<project version=\"26.1\" port=\"17003\"/>\n"
                         "</license-server>\n</tessera>\n");
  ts_error_t *err = ts_config_check(c, 17000, pool);

  cr_assert_not_null(err);
  cr_assert(strstr(ts_error_text(err, pool), "line 3, element project"),
            "%s", ts_error_text(err, pool));
  cr_assert_eq(ts_error_exit_status(err), 78, "%s",
               ts_error_text(err, pool));
  ts_error_clear(err);
}

Test(config, a_repositorys_fixed_port_reaches_the_configuration)
{
  ts_config_t *c = parse("<tessera xmlns=\"urn:tessera:config:1\">\n"
                         "<model-servers max=\"40\">\n"
                         "<repository path=\"ivr/b/v1\" port=\"17100\"/>\n"
                         "</model-servers>\n</tessera>\n");
  ts_error_t *err;

  cr_assert_eq(c->model_max, 40);
  cr_assert_eq(c->fixed_ports->nelts, 1);
  cr_assert_str_eq(APR_ARRAY_IDX(c->fixed_ports, 0, ts_fixed_port_t).path,
                   "ivr/b/v1");
  cr_assert_null(ts_config_check(c, 17000, pool));
  /* one of the license server's own ports p..p+5: refused */
  err = ts_config_check(c, 17095, pool);
  cr_assert_not_null(err);
  cr_assert(strstr(ts_error_text(err, pool), "line 3, element repository: "
                   "the model server of ivr/b/v1 cannot take port 17100"),
            "%s", ts_error_text(err, pool));
  cr_assert_eq(ts_error_exit_status(err), 78);
  ts_error_clear(err);
}

Test(config, notify_reaches_the_configuration)
{
  ts_config_t *c = parse("<tessera xmlns=\"urn:tessera:config:1\">\n"
                         "<notify digest-hour=\"7\" retry-seconds=\"1\" "
                         "retry-max-seconds=\"4\">\n"
                         "<smtp host=\"mail.example.com\" port=\"2525\" "
                         "from=\"tessera@example.com\" starttls=\"none\" "
                         "user=\"tessera\" password-file=\"smtp.pw\"/>\n"
                         "</notify>\n</tessera>\n");
  ts_config_t *none = parse("<tessera xmlns=\"urn:tessera:config:1\"/>");

  cr_assert_str_eq(c->notify.smtp_host, "mail.example.com");
  cr_assert_eq(c->notify.smtp_port, 2525);
  cr_assert_str_eq(c->notify.from, "tessera@example.com");
  cr_assert_eq(c->notify.starttls, 0);
  cr_assert_str_eq(c->notify.user, "tessera");
  /* relative to the directory of tessera.xml */
  cr_assert_str_eq(c->notify.password_file,
                   "/var/lib/tessera/license/smtp.pw");
  cr_assert_eq(c->notify.digest_hour, 7);
  cr_assert_eq(c->notify.retry_seconds, 1);
  cr_assert_eq(c->notify.retry_max_seconds, 4);
  cr_assert_eq(c->notify.line, 3);
  cr_assert_null(ts_config_check(c, 17000, pool));
  /* the defaults: no SMTP server (no mail goes out), STARTTLS required */
  cr_assert_null(none->notify.smtp_host);
  cr_assert_eq(none->notify.starttls, 1);
  cr_assert_eq(none->notify.smtp_port, 587);
  cr_assert_eq(none->notify.retry_seconds, 30);
  cr_assert_eq(none->notify.retry_max_seconds, 3600);
  cr_assert_eq(none->notify.digest_hour, 6);
}

Test(config, notify_refuses_what_cannot_work)
{
  ts_config_t *c;
  ts_error_t *err;

  cr_assert(strstr(refusal("<tessera xmlns=\"urn:tessera:config:1\">\n"
                           "<notify><smtp host=\"h\" from=\"not an address\""
                           "/></notify></tessera>"), "from"));
  cr_assert(strstr(refusal("<tessera xmlns=\"urn:tessera:config:1\">\n"
                           "<notify><smtp host=\"h\" from=\"a@b\" "
                           "starttls=\"maybe\"/></notify></tessera>"),
                   "starttls"));
  cr_assert(strstr(refusal("<tessera xmlns=\"urn:tessera:config:1\">\n"
                           "<notify digest-hour=\"24\"/></tessera>"),
                   "digest-hour"));
  /* a user without a password file: ts_config_check */
  c = parse("<tessera xmlns=\"urn:tessera:config:1\">\n<notify>\n"
            "<smtp host=\"h\" from=\"a@b\" user=\"u\"/></notify></tessera>");
  err = ts_config_check(c, 17000, pool);
  cr_assert_not_null(err);
  cr_assert(strstr(ts_error_text(err, pool), "line 3, element smtp: SMTP "
                   "AUTH needs both user and password-file"), "%s",
            ts_error_text(err, pool));
  cr_assert_eq(ts_error_exit_status(err), 78);
  ts_error_clear(err);
  c = parse("<tessera xmlns=\"urn:tessera:config:1\">\n"
            "<notify retry-seconds=\"60\" retry-max-seconds=\"30\"/>"
            "</tessera>");
  err = ts_config_check(c, 17000, pool);
  cr_assert_not_null(err);
  cr_assert(strstr(ts_error_text(err, pool), "retry-max-seconds (30) is "
                   "shorter than retry-seconds (60)"), "%s",
            ts_error_text(err, pool));
  ts_error_clear(err);
}
