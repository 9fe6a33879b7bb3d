/* test_i18n_server.c: a license server with INOLANG=de answers its clients
 * in German, while its log stays English (for support and search) and
 * what is for programs (status codes, JSON keys and values) does not
 * change (issue 16). A real tesserad (license_fixture.c). */
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_strings.h>

#include "license_fixture.h"
#include "run.h"

TestSuite(i18n_server, .init = lf_setup, .fini = lf_teardown,
          .timeout = 60);

Test(i18n_server, answers_in_german_and_logs_in_english)
{
  char body[4096];
  char *log;

  /* the stored setting, as an administrator sets it */
  admin_ok((const char *[]){ "env", "set", "INOLANG", "de", "--scope",
                             "user", NULL });
  start_server();

  cr_assert_eq(run_http(port, "GET", "/v1/nonsense", NULL, NULL, body,
                        sizeof(body)), 404);
  cr_assert(strstr(body, "\"error\":\"keine solche Ressource: /v1/nonsense"),
            "%s", body);
  cr_assert_eq(run_http(port, "DELETE", "/health", NULL, NULL, body,
                        sizeof(body)), 405);
  cr_assert(strstr(body, "antwortet nur auf"), "%s", body);
  /* a refused request body: German, with the same status */
  cr_assert_eq(run_http(port, "POST", "/v1/sessions", "{\"product\":",
                        NULL, body, sizeof(body)), 400);
  cr_assert_null(strstr(body, "the body is not valid JSON"), "%s", body);
  /* what programs read does not change */
  cr_assert_eq(run_http(port, "GET", "/health", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\"status\":\"ok\""), "%s", body);

  log = run_read_file(in_root(apr_psprintf(tp, "lic/logs/license.%d/"
                                           "license.log", port)));
  cr_assert(strstr(log, "serving on port"), "%s", log);
  cr_assert_null(strstr(log, "Lizenz"), "German in the log: %s", log);
  free(log);
}
